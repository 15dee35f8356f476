/**
 * The model-release contract (issue 11, DESIGN.md §8): shared by the release state machine's
 * tasks, the score path's shadow phase, the releases API and the console. Pure data.
 *
 * Blue is the score function's current unpinned version (it serves the registry's `production`
 * alias); green is a version of the same code pinned to the candidate (`ENV.MODEL_VERSION`).
 */

/** Release policies by name (`vigil release start … --policy`); their steps live in core policy code. */
export const RELEASE_POLICIES = ['canary10-15m', 'linear10-every-2m', 'shadow-only', 'all-at-once'] as const;
export type ReleasePolicyName = (typeof RELEASE_POLICIES)[number];

/**
 * Where a release is:
 * - `shadow`: blue also scores each request with the candidate in-process; nothing returned changes;
 * - `traffic`: `live` routes `weight` to green;
 * - `paused`: a dependency outage (503s) stopped judgement; weights held, no rollback;
 * - `promoted` | `rolled-back` | `failed` are terminal (a release no longer holds `live`).
 */
export type ReleasePhase = 'shadow' | 'traffic' | 'paused' | 'promoted' | 'rolled-back' | 'failed';
export const TERMINAL_RELEASE_PHASES: readonly ReleasePhase[] = ['promoted', 'rolled-back', 'failed'];

/** A function version of the score function and the model version it serves. */
export interface VersionRef {
  /** Lambda version number as a string ("12"); the twin names its versions the same way. */
  readonly functionVersion: string;
  readonly modelVersion: number;
}

/** What one version did over a judgement window. */
export interface VersionReadings extends VersionRef {
  readonly invocations: number;
  /** Lambda `Errors`: the handler threw or timed out. */
  readonly errors: number;
  /** `METRICS.serverErrors`: genuine 500s the handler answered (a bug). */
  readonly serverErrors: number;
  /** `METRICS.dependencyErrors`: 503s from an outage — they pause a release, never roll it back. */
  readonly dependencyErrors: number;
  /** p99 of Lambda `Duration`; absent without invocations. */
  readonly p99DurationMs?: number;
  readonly rowsScored: number;
  readonly anomalies: number;
  readonly captureErrors: number;
  /**
   * The shadow phase's counters of this model version as the candidate blue scored in-process
   * (`METRICS.shadow*`); zero counts for a version nobody shadowed.
   */
  readonly shadow?: {
    readonly rows: number;
    readonly anomalies: number;
    readonly disagreements: number;
    readonly errors: number;
    /** p99 of the time the in-process candidate added to blue's requests, ms; absent without rows. */
    readonly addedP99Ms?: number;
  };
}

/** A signal that breached its limit at a judgement, with its numbers. */
export interface Breach {
  /** e.g. `anomaly-rate`, `score-ks`, `errors`, `server-errors`, `p99`, `capture-errors`, `shadow-disagreement`. */
  readonly signal: string;
  readonly value: number;
  readonly limit: number;
  readonly detail?: string;
}

/** Shadow-phase comparison of the candidate with blue on the same rows. */
export interface ShadowComparison {
  readonly rows: number;
  /** Share of rows whose anomaly verdicts differ. */
  readonly disagreement: number;
  /** Spearman rank correlation of the two scores. */
  readonly rankCorrelation: number;
  /** Candidate anomaly rate / blue anomaly rate (Infinity when blue flagged none and green some). */
  readonly anomalyRateRatio: number;
  /** Rows of the `rows` blue and the candidate flagged (absent in records written before them). */
  readonly blueAnomalies?: number;
  readonly greenAnomalies?: number;
  /** p99 latency the in-process candidate added to blue's requests, ms. */
  readonly addedP99Ms: number;
}

/** One judgement at one step of a release. */
export interface Judgement {
  readonly at: string;
  readonly step: number;
  readonly phase: 'shadow' | 'traffic';
  /** Share routed to green while the readings were taken. */
  readonly weight: number;
  readonly window: { readonly from: string; readonly to: string };
  readonly blue?: VersionReadings;
  readonly green?: VersionReadings;
  /**
   * Log rate-ratio test of green's anomaly rate against blue's, with H0 ratio = `expectedRatio`
   * (the release's `expected.anomalyRateRatio`). `expectedRatio` is absent on judgements
   * recorded before releases had an expected difference (they tested ratio 1).
   */
  readonly anomalyRate?: {
    readonly blue: number;
    readonly green: number;
    /** Observed green rate / blue rate. */
    readonly ratio: number;
    readonly expectedRatio?: number;
    /** Variance of ln(expectedRatio) the test allowed for (the evaluation's own noise). */
    readonly expectedLogVariance?: number;
    readonly z: number;
    readonly pValue: number;
  };
  /**
   * KS distance between green's and blue's score distributions (captures split by model version);
   * a breach needs D > `limitD` = `expectedD` (the release's `expected.scoreKsD`) + `maxD`.
   */
  readonly scoreKs?: {
    readonly d: number;
    readonly pValue: number;
    readonly nBlue: number;
    readonly nGreen: number;
    readonly expectedD?: number;
    readonly limitD?: number;
  };
  readonly shadow?: ShadowComparison;
  readonly decision: 'continue' | 'promote' | 'rollback' | 'pause';
  readonly breaches: readonly Breach[];
}

/**
 * How the candidate is expected to differ from production, fixed when the release starts:
 * what the retraining's Evaluate measured between the two on recent traffic (the candidate
 * version's `eval.*` metrics). The judgement tests green against blue relative to it.
 */
export interface ExpectedDifference {
  /** Candidate anomaly rate / production's on the evaluation's holdout; 1 = the same rate. */
  readonly anomalyRateRatio: number;
  /**
   * Variance of ln(`anomalyRateRatio`) from the evaluation's counts (1/k_c − 1/n + 1/k_p − 1/n,
   * as if the two were independent: the models flag the same rows together, so the true variance
   * is smaller and this errs towards keeping the candidate); the judgement's test adds it. 0 = none.
   */
  readonly anomalyRateLogVariance: number;
  /** KS D between the two models' holdout scores; 0 = the same distribution. */
  readonly scoreKsD: number;
  /** Share of holdout rows whose verdicts differ between the two (the shadow phase's measure); 0 = none. */
  readonly disagreement: number;
  /** Standard error of `disagreement` on the holdout, √(d(1−d)/n); 0 = none. */
  readonly disagreementStdErr: number;
  /** Spearman correlation of the two models' holdout scores; 1 = the same ranking. */
  readonly rankCorrelation: number;
  /** Standard error of `rankCorrelation` on the holdout, (1 − ρ²)/√n; 0 = none. */
  readonly rankCorrelationStdErr: number;
  /**
   * `evaluation`: from the candidate's recorded evaluation against this release's baseline;
   * `none`: no usable evaluation (released by hand, first model, another parent), ratio 1, D 0.
   */
  readonly source: 'evaluation' | 'none';
  /** The numbers it rests on, or why there is none. */
  readonly detail: string;
}

/** One release of a model, as recorded in the registry (one non-terminal release per model). */
export interface ReleaseRecord {
  readonly model: string;
  readonly releaseId: string;
  readonly candidateVersion: number;
  /** The registry's `production` version when the release started. */
  readonly baselineVersion: number;
  readonly policy: ReleasePolicyName;
  readonly phase: ReleasePhase;
  /** Share of `live` routed to green now (0..1). */
  readonly weight: number;
  /** Index of the policy step the release is at. */
  readonly step: number;
  readonly blue?: VersionRef;
  readonly green?: VersionRef;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly endedAt?: string;
  /** The release machine's execution. */
  readonly executionArn?: string;
  /** `retraining:<execution arn>` or `api:<caller>`. */
  readonly startedBy: string;
  /**
   * The difference the judgement expects between green and blue; absent on releases recorded
   * before it existed (judged as `source: 'none'`).
   */
  readonly expected?: ExpectedDifference;
  /** Shadow phase bounds, when the policy has one. */
  readonly shadow?: { readonly rows?: number; readonly minutes?: number };
  readonly judgements: readonly Judgement[];
  /** Why it ended (terminal phases): the breached signal and its numbers, or `all clear`. */
  readonly outcome?: { readonly reason: string; readonly breaches?: readonly Breach[] };
  /** Optimistic-concurrency counter: every update is conditional on it. */
  readonly revision: number;
}
