import { z } from 'zod';

/** The tests computed per feature. Any of them can vote. */
export const TEST_NAMES = [
  'ks',
  'wasserstein',
  'anderson',
  'cvm',
  'jensenShannon',
  'psi',
  'meanShift',
] as const;
export type TestName = (typeof TEST_NAMES)[number];

/** Default voters: KS, Wasserstein, AD, JS and mean shift; CvM and PSI are reported only. */
export const DEFAULT_VOTERS: readonly TestName[] = [
  'ks',
  'wasserstein',
  'anderson',
  'jensenShannon',
  'meanShift',
];

/** Settings that can be given per model and overridden per feature. */
const featureShape = {
  /** Significance level of every vote: the p-value tests' α and the distances' null quantile (1 − α). */
  alpha: z.number().gt(0).lt(1),
  /**
   * Fixed distance thresholds (a distance strictly above votes drift). A distance without one is
   * size-aware: it votes when it exceeds the (1 − α) quantile of its null distribution at the
   * window's size (see `bootstrapCalibrator`). Fixed thresholds are opt-in: their false-alarm
   * rate depends on n (Evidently's 0.1 flags 87–97 % of same-distribution pairs at n = 100).
   */
  thresholds: z.object({
    /** Wasserstein-1 / max(reference std, 0.001). */
    wasserstein: z.number().positive().optional(),
    /** Jensen-Shannon distance, base 2, on reference-quantile bins. */
    jensenShannon: z.number().positive().optional(),
    /** Population Stability Index on reference deciles. */
    psi: z.number().positive().optional(),
  }),
  /** Tests whose votes count. */
  voters: z.array(z.enum(TEST_NAMES)).min(1),
  /**
   * Votes needed to call a feature drifted: k of `voters`, or, when KS votes, k of the others at the
   * consensus level (a KS rejection alone also drifts it; see `consensusLevel`).
   */
  minVotes: z.number().int().min(1),
  /**
   * Effect-size floor: besides the votes, at least one of these effects must
   * be reached, so that huge samples do not flag trivial shifts.
   */
  effectFloor: z.object({
    /** Normalised Wasserstein distance (in reference standard deviations). */
    wassersteinNormalized: z.number().nonnegative(),
    /** KS statistic (largest ECDF gap). */
    ksStatistic: z.number().nonnegative(),
  }),
  /** Fewer current values than this → "insufficient data" for the feature, no verdict. */
  minRows: z.number().int().min(1),
  /** Quantile bins for JS and PSI. */
  bins: z.number().int().min(2).max(100),
};

const FeatureOverrideSchema = z
  .object({
    ...featureShape,
    thresholds: featureShape.thresholds.strict(),
    effectFloor: featureShape.effectFloor.partial(),
  })
  .partial()
  .strict();
export type FeatureOverride = z.infer<typeof FeatureOverrideSchema>;

/** The drift configuration of one model (all fields optional in the input; defaults documented below). */
export const DriftConfigSchema = z
  .object({
    alpha: featureShape.alpha.default(0.05),
    thresholds: featureShape.thresholds.strict().default({}),
    voters: featureShape.voters.default([...DEFAULT_VOTERS]),
    minVotes: featureShape.minVotes.default(3),
    effectFloor: z
      .object({
        wassersteinNormalized: featureShape.effectFloor.shape.wassersteinNormalized.default(0.05),
        ksStatistic: featureShape.effectFloor.shape.ksStatistic.default(0.05),
      })
      .default({ wassersteinNormalized: 0.05, ksStatistic: 0.05 }),
    minRows: featureShape.minRows.default(30),
    bins: featureShape.bins.default(10),
    /**
     * Multiple-testing correction of each p-value test across the features; size-aware distance
     * votes then use α / (features with a verdict) (Bonferroni's level, for BH too).
     */
    correction: z.enum(['none', 'bonferroni', 'bh']).default('none'),
    /** Dataset drift when the share of drifted features is ≥ this. */
    driftShare: z.number().gt(0).max(1).default(0.5),
    /** Per-feature overrides. */
    features: z.record(z.string(), FeatureOverrideSchema).default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.minVotes > c.voters.length) {
      ctx.addIssue({ code: 'custom', message: 'minVotes exceeds the number of voters', path: ['minVotes'] });
    }
  });
export type DriftConfig = z.infer<typeof DriftConfigSchema>;
export type DriftConfigInput = z.input<typeof DriftConfigSchema>;

/** Drift configuration for several models: `default` plus per-model overrides (merged shallowly). */
export const DriftSettingsSchema = z
  .object({
    default: z.record(z.string(), z.unknown()).default({}),
    models: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  })
  .strict();

/** The settings that apply to one feature after overrides. */
export interface FeatureConfig {
  readonly alpha: number;
  readonly thresholds: DriftConfig['thresholds'];
  readonly voters: readonly TestName[];
  readonly minVotes: number;
  readonly effectFloor: DriftConfig['effectFloor'];
  readonly minRows: number;
  readonly bins: number;
}

/** Parses a model's drift config, filling the defaults. @throws ZodError */
export function parseDriftConfig(input: unknown = {}): DriftConfig {
  return DriftConfigSchema.parse(input ?? {});
}

/** The drift config of `model` from multi-model settings (model keys override `default`). */
export function driftConfigForModel(settings: unknown, model: string): DriftConfig {
  const s = DriftSettingsSchema.parse(settings ?? {});
  return parseDriftConfig({ ...s.default, ...(s.models[model] ?? {}) });
}

/** Applies a feature's overrides to the model config. */
export function featureConfig(config: DriftConfig, feature: string): FeatureConfig {
  const o = config.features[feature] ?? {};
  const voters = o.voters ?? config.voters;
  const minVotes = o.minVotes ?? config.minVotes;
  if (minVotes > voters.length) {
    throw new RangeError(`drift config of feature '${feature}': minVotes exceeds the number of voters`);
  }
  return {
    alpha: o.alpha ?? config.alpha,
    thresholds: { ...config.thresholds, ...o.thresholds },
    voters,
    minVotes,
    effectFloor: { ...config.effectFloor, ...o.effectFloor },
    minRows: o.minRows ?? config.minRows,
    bins: o.bins ?? config.bins,
  };
}
