import { z } from 'zod';
import { RELEASE_POLICIES, type ReleasePolicyName } from './types.ts';

/**
 * Release settings (DESIGN.md §8), one object per environment: `lib/config.ts` writes them as
 * JSON into the release tasks' environment (`ENV.RELEASE_CONFIG`), the tasks parse them once
 * with this schema. Every field has a default, so `{}` is valid. The defaults of the judgement
 * come from `npm run bench` (bench/release.ts; README "Model releases").
 */
export const ReleaseSettingsSchema = z.object({
  /** Policy when a release is started without one. */
  defaultPolicy: z.enum(RELEASE_POLICIES).default('canary10-15m'),
  /**
   * Multiplies every bake and shadow duration: 1 in AWS; the twin runs a full canary in seconds
   * with e.g. 0.005. Durations are rounded up to whole seconds (Step Functions' Wait).
   */
  timeScale: z.number().positive().max(1).default(1),
  /** Shadow phase before traffic moves: on in prod by default, off elsewhere. */
  shadow: z
    .object({
      enabled: z.boolean().default(false),
      /** Minutes blue scores the candidate beside itself before judging. */
      minutes: z.number().positive().default(10),
      /** Rows the comparison needs at least; fewer pass unjudged (recorded). */
      minRows: z.number().int().positive().default(200),
      /** Share of rows whose verdicts may differ. */
      maxDisagreement: z.number().min(0).max(1).default(0.05),
      /** Spearman correlation of the two scores at least. */
      minRankCorrelation: z.number().min(-1).max(1).default(0.8),
      /** p99 ms the in-process candidate may add to blue's requests. */
      maxAddedP99Ms: z.number().nonnegative().default(50),
    })
    .prefault({}),
  judgement: z
    .object({
      /** Green invocations below which latency and error rates are not judged (too few to mean anything). */
      minInvocations: z.number().int().nonnegative().default(20),
      /** Lambda errors (throws, timeouts): breach at `minCount` or more *and* a rate above `maxRate`. */
      errors: z
        .object({
          maxRate: z.number().min(0).max(1).default(0.01),
          minCount: z.number().int().min(1).default(3),
        })
        .prefault({}),
      /** Genuine 500s (`ServerErrors`), same rule. */
      serverErrors: z
        .object({
          maxRate: z.number().min(0).max(1).default(0.01),
          minCount: z.number().int().min(1).default(3),
        })
        .prefault({}),
      /** Capture rows parked or lost, per scored row. */
      captureErrors: z
        .object({
          maxRate: z.number().min(0).max(1).default(0.01),
          minCount: z.number().int().min(1).default(3),
        })
        .prefault({}),
      /**
       * p99 duration: breach above `maxMs` outright, or above blue's p99 × `maxRatio` when that is
       * also `minDeltaMs` slower (a 2 ms blue doubling to 4 ms is noise, not a regression).
       */
      p99: z
        .object({
          maxMs: z.number().positive().default(1000),
          maxRatio: z.number().min(1).default(1.5),
          minDeltaMs: z.number().nonnegative().default(50),
        })
        .prefault({}),
      /**
       * Anomaly rate of green vs blue: a two-sided log rate-ratio test of H0 ratio = r (the
       * release's expected ratio, 1 without an evaluation) *and* an effect-size floor (the ratio
       * / r outside [1/maxRatio, maxRatio]), so a large canary cannot roll back on a trivial
       * difference and a small one cannot on noise.
       */
      anomalyRate: z
        .object({
          // From the bench (README "Model releases"): with the pooled two-proportion test α 0.01 gave
          // 1.1 % false rollbacks at 100 req/s; the log rate-ratio test keeps α 0.005 at 0.5 %.
          alpha: z.number().gt(0).lt(1).default(0.005),
          maxRatio: z.number().min(1).default(1.5),
          /** Green rows below which the test is not run. */
          minRows: z.number().int().positive().default(100),
        })
        .prefault({}),
      /**
       * KS distance of green's scores against blue's (captures split by model version): a breach
       * needs D > the release's expected D + `maxD`, a tolerance around the evaluated difference.
       */
      scoreKs: z
        .object({
          maxD: z.number().gt(0).max(1).default(0.2),
          alpha: z.number().gt(0).lt(1).default(0.01),
          minSamples: z.number().int().positive().default(50),
        })
        .prefault({}),
      /** Dependency 503s (either version) at or above which a judgement pauses instead of deciding. */
      pauseOnDependencyErrors: z.number().int().min(1).default(1),
      /** Consecutive pauses after which the release gives up (fails, green retired). */
      maxPauses: z.number().int().min(1).default(6),
      /** Minutes a paused release waits before judging again. */
      pauseMinutes: z.number().positive().default(2),
    })
    .prefault({}),
  /**
   * Seconds a warm score instance may keep serving the old `production` version from its alias
   * cache (`ENV.ALIAS_CACHE_SECONDS`): promotion waits this long before `live` drops green.
   */
  aliasCacheSeconds: z.number().int().nonnegative().default(60),
});
export type ReleaseSettings = z.infer<typeof ReleaseSettingsSchema>;

/**
 * Parses settings (an object or its JSON text).
 * @throws Error naming the bad field
 */
export function parseReleaseSettings(raw: unknown): ReleaseSettings {
  const value = typeof raw === 'string' ? (JSON.parse(raw || '{}') as unknown) : (raw ?? {});
  const r = ReleaseSettingsSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`Invalid release settings at ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  return r.data;
}

/** One traffic step: `weight` of `live` goes to green, then the release bakes `bakeMinutes`. */
export interface PolicyStep {
  readonly weight: number;
  readonly bakeMinutes: number;
}

/**
 * The policies by name. After the last step (all clear) the release promotes: 100 % is the
 * registry's `production` moving to the candidate, never a weight of 1 on green (Lambda's
 * additional weight must stay below 1, and an unpinned blue then serves the new model anyway).
 *
 * - `canary10-15m`: 10 % for 15 minutes, then promote.
 * - `linear10-every-2m`: 10 %, 20 % … 90 %, 2 minutes each, then promote.
 * - `shadow-only`: no traffic on green at all: the shadow phase (forced on) is the only
 *   judgement, then promote. For models whose mistakes must never reach a caller.
 * - `all-at-once`: no shadow, no traffic step: promote at once (an emergency fix; the
 *   registry's `production` move is still conditional and recorded).
 */
export const POLICY_STEPS: Readonly<Record<ReleasePolicyName, readonly PolicyStep[]>> = {
  'canary10-15m': [{ weight: 0.1, bakeMinutes: 15 }],
  'linear10-every-2m': Array.from({ length: 9 }, (_, i) => ({
    weight: Math.round((i + 1) * 10) / 100,
    bakeMinutes: 2,
  })),
  'shadow-only': [],
  'all-at-once': [],
};

/** A release's plan: what the state machine runs, with durations in whole seconds. */
export interface ReleasePlan {
  readonly policy: ReleasePolicyName;
  /** Seconds of shadow phase; 0 = none. */
  readonly shadowSeconds: number;
  readonly steps: readonly { readonly weight: number; readonly bakeSeconds: number }[];
  /** Seconds a paused release waits before judging again. */
  readonly pauseSeconds: number;
  /** Seconds promotion waits for alias caches before `live` drops green. */
  readonly aliasCacheSeconds: number;
}

const seconds = (minutes: number, scale: number) => Math.max(1, Math.ceil(minutes * 60 * scale));

/**
 * The plan of `policy` under `settings`: steps from {@link POLICY_STEPS}, durations scaled by
 * `timeScale`, the shadow phase when enabled (always for `shadow-only`, never for `all-at-once`).
 */
export function planRelease(policy: ReleasePolicyName, settings: ReleaseSettings): ReleasePlan {
  const shadow = policy === 'shadow-only' ? true : policy === 'all-at-once' ? false : settings.shadow.enabled;
  return {
    policy,
    shadowSeconds: shadow ? seconds(settings.shadow.minutes, settings.timeScale) : 0,
    steps: POLICY_STEPS[policy].map((s) => ({
      weight: s.weight,
      bakeSeconds: seconds(s.bakeMinutes, settings.timeScale),
    })),
    pauseSeconds: seconds(settings.judgement.pauseMinutes, settings.timeScale),
    aliasCacheSeconds: settings.aliasCacheSeconds,
  };
}
