import { z } from 'zod';

/**
 * Per-feature reference data kept in the package. The `sample` arrays of all
 * features have the same length and are aligned: index i of every feature is
 * one reference row. That makes the sample usable both for per-feature drift
 * tests and as rows for TreeSHAP covers of imported models.
 */
export const FeatureReferenceSchema = z.object({
  sample: z.array(z.number()).max(10_000),
  n: z.number().int().nonnegative(),
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  /** Reference deciles (9 inner edges, numpy 'linear' quantiles) used for PSI/JS bins. */
  deciles: z.array(z.number()).length(9),
});
export type FeatureReference = z.infer<typeof FeatureReferenceSchema>;

export const ManifestSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
    /** Registry version, or 0 for an unregistered package. */
    version: z.number().int().nonnegative(),
    algorithm: z.string().min(1),
    features: z.array(z.string().min(1)).min(1),
    params: z.record(z.string(), z.unknown()),
    /** Score at or above which a row is an anomaly. */
    threshold: z.number(),
    output: z.object({
      /** ONNX output holding the anomaly score. */
      name: z.string(),
      /** True when a larger score means more anomalous. */
      higherIsAnomalous: z.boolean(),
      /** ONNX output (or node output) of the tree ensemble itself: what SHAP explains. */
      raw: z.string(),
      /** True when a larger raw output means more anomalous (false for path length). */
      rawHigherIsAnomalous: z.boolean(),
    }),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    createdAt: z.string(),
    training: z.object({
      rows: z.number().int().nonnegative(),
      dataSha256: z.string(),
      window: z.object({ from: z.string(), to: z.string() }).nullable(),
      seed: z.number().int().optional(),
    }),
    reference: z.object({
      rows: z.number().int().nonnegative(),
      features: z.record(z.string(), FeatureReferenceSchema),
    }),
    metrics: z.record(z.string(), z.number()),
  })
  .superRefine((m, ctx) => {
    if (new Set(m.features).size !== m.features.length) {
      ctx.addIssue({ code: 'custom', message: 'feature names must be unique', path: ['features'] });
    }
    for (const f of m.features) {
      if (!m.reference.features[f]) {
        ctx.addIssue({
          code: 'custom',
          message: `reference missing for feature '${f}'`,
          path: ['reference'],
        });
      }
    }
    const lengths = new Set(Object.values(m.reference.features).map((r) => r.sample.length));
    if (lengths.size > 1) {
      ctx.addIssue({ code: 'custom', message: 'reference samples must be row-aligned', path: ['reference'] });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;

/** A model package: the unit the registry versions (DESIGN.md §3). */
export interface ModelPackage {
  readonly manifest: Manifest;
  readonly onnx: Uint8Array;
}
