// zod/mini keeps the Lambda bundles small (see lambdas/runtime/config.ts).
import * as z from 'zod/mini';
import { MODEL_NAME_PATTERN } from '#contracts';
import { VigilError } from '#core/errors.ts';

/**
 * An array of at most `max` finite numbers, checked with one loop: the
 * reference sample holds up to 50,000 numbers per package, and validating
 * them element by element through zod cost ~15 ms of every cold start.
 */
const finiteNumbers = (max: number) =>
  z.custom<number[]>(
    (v) => {
      if (!Array.isArray(v) || v.length > max) return false;
      for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) return false;
      return true;
    },
    { message: `expected an array of at most ${max} finite numbers` },
  );

/** Names that would address an object's prototype instead of a property when used as keys. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Per-feature reference data kept in the package. The `sample` arrays of all
 * features have the same length and are aligned: index i of every feature is
 * one reference row. That makes the sample usable both for per-feature drift
 * tests and as rows for TreeSHAP covers of imported models.
 */
export const FeatureReferenceSchema = z.object({
  sample: finiteNumbers(10_000),
  n: z.number().check(z.refine(Number.isInteger), z.nonnegative()),
  mean: z.number(),
  std: z.number().check(z.nonnegative()),
  min: z.number(),
  max: z.number(),
  /** Reference deciles (9 inner edges, numpy 'linear' quantiles) used for PSI/JS bins. */
  deciles: z.array(z.number()).check(z.length(9)),
});
export type FeatureReference = z.infer<typeof FeatureReferenceSchema>;

export const ManifestSchema = z
  .object({
    name: z.string().check(z.regex(MODEL_NAME_PATTERN)),
    /** Registry version, or 0 for an unregistered package. */
    version: z.number().check(z.refine(Number.isInteger), z.nonnegative()),
    algorithm: z.string().check(z.minLength(1)),
    features: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
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
      /**
       * Serve the negated output: scikit-learn's `score_samples` (lower = more anomalous)
       * becomes Vigil's scale (higher = more anomalous). @default false
       */
      negate: z.optional(z.boolean()),
    }),
    sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    createdAt: z.string(),
    training: z.object({
      rows: z.number().check(z.refine(Number.isInteger), z.nonnegative()),
      dataSha256: z.string(),
      window: z.nullable(z.object({ from: z.string(), to: z.string() })),
      seed: z.optional(z.number().check(z.refine(Number.isInteger))),
    }),
    reference: z.object({
      rows: z.number().check(z.refine(Number.isInteger), z.nonnegative()),
      features: z.record(z.string(), FeatureReferenceSchema),
    }),
    metrics: z.record(z.string(), z.number()),
  })
  .check(
    z.superRefine((m, ctx) => {
      for (const f of m.features) {
        if (RESERVED_NAMES.has(f)) {
          ctx.addIssue({ code: 'custom', message: `feature name '${f}' is reserved`, path: ['features'] });
        }
      }
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
        ctx.addIssue({
          code: 'custom',
          message: 'reference samples must be row-aligned',
          path: ['reference'],
        });
      }
    }),
  );
export type Manifest = z.infer<typeof ManifestSchema>;

/** A model package: the unit the registry versions (DESIGN.md §3). */
export interface ModelPackage {
  readonly manifest: Manifest;
  readonly onnx: Uint8Array;
}

/**
 * Validates a manifest (already parsed JSON).
 * @throws VigilError InvalidModel carrying zod's first message and path.
 */
export function validateManifest(value: unknown): Manifest {
  const r = ManifestSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0];
    const where = first?.path ? ` at '${first.path}'` : '';
    throw new VigilError('InvalidModel', `Invalid manifest${where}: ${first?.message ?? 'invalid'}`, {
      issues,
    });
  }
  return r.data;
}

/**
 * Parses manifest.json bytes or text.
 * @throws VigilError InvalidModel when it is not JSON or not a valid manifest.
 */
export function parseManifest(source: Uint8Array | string): Manifest {
  const text = typeof source === 'string' ? source : new TextDecoder('utf-8').decode(source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VigilError('InvalidModel', `manifest.json is not valid JSON: ${(e as Error).message}`);
  }
  return validateManifest(value);
}
