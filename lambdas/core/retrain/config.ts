import { z } from 'zod';

/**
 * Retraining settings (DESIGN.md §8), one object per environment: `lib/config.ts`
 * writes it as JSON into the step functions' environment (`ENV.RETRAIN_CONFIG`),
 * the steps parse it once with this schema. Every field has a default, so `{}`
 * is a valid configuration.
 */
export const RetrainSettingsSchema = z.object({
  /** Days of captures before the drift report's window that join the training window. */
  windowDays: z.number().positive().default(7),
  validation: z
    .object({
      minRows: z.number().int().min(2).default(500),
      maxMissingShare: z.number().min(0).max(1).default(0.05),
      maxDuplicateShare: z.number().min(0).max(1).default(0.2),
      labelShare: z
        .object({ min: z.number().min(0).max(1).default(0.001), max: z.number().min(0).max(1).default(0.5) })
        .default({ min: 0.001, max: 0.5 }),
    })
    .default({
      minRows: 500,
      maxMissingShare: 0.05,
      maxDuplicateShare: 0.2,
      labelShare: { min: 0.001, max: 0.5 },
    }),
  /** Share of the prepared rows held out for Evaluate (never trained on). */
  holdoutShare: z.number().gt(0).lt(1).default(0.2),
  /** Synthetic anomalies injected for the quality number, as a share of the holdout (at least 50). */
  injectedShare: z.number().gt(0).max(1).default(0.1),
  /** Expected anomaly rate when the production model's contamination is 'auto', and the band's half width. */
  anomalyRate: z
    .object({
      target: z.number().min(0).max(1).default(0.01),
      tolerance: z.number().min(0).max(1).default(0.04),
    })
    .default({ target: 0.01, tolerance: 0.04 }),
  gate: z
    .object({
      aucTolerance: z.number().min(0).max(1).default(0.02),
      minAuc: z.number().min(0).max(1).default(0.7),
      requireAnomalyRateInBand: z.boolean().default(true),
      /**
       * Labelled holdout rows of each class (anomaly, normal) needed before the gate judges by
       * labelled ROC AUC instead of the injected-anomaly AUC.
       */
      minLabelsPerClass: z.number().int().min(1).default(5),
    })
    .default({ aucTolerance: 0.02, minAuc: 0.7, requireAnomalyRateInBand: true, minLabelsPerClass: 5 }),
  /** Above this many training rows the EKS branch trains (see README "Retraining" for the measurement). */
  lambdaMaxRows: z.number().int().positive().default(1_000_000),
  /** Whether a registered candidate waits for a person (prod) or not (dev). */
  approvalRequired: z.boolean().default(false),
});
export type RetrainSettings = z.infer<typeof RetrainSettingsSchema>;

/**
 * Parses settings (an object or its JSON text).
 * @throws Error naming the bad field
 */
export function parseRetrainSettings(raw: unknown): RetrainSettings {
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : (raw ?? {});
  const r = RetrainSettingsSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`Invalid retraining settings at ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  return r.data;
}
