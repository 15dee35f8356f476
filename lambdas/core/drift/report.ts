import type { Manifest } from '#core/model/manifest.ts';
import {
  type DistanceTest,
  type DistanceThresholds,
  defaultCalibrator,
  type NullCalibrator,
} from './calibration.ts';
import { type DriftConfig, type FeatureConfig, featureConfig, type TestName } from './config.ts';
import { consensusLevel } from './consensus.ts';
import { quantileSorted } from './numeric.ts';
import { prepareSample, type Sample } from './sample.ts';
import { type FeatureStats, featureStats, isSkipped, type Skipped } from './stats.ts';

/** One test's outcome in a report: its numbers, whether it says drift, whether it votes. */
export type TestOutcome =
  | (Record<string, unknown> & { readonly drift: boolean; readonly voting: boolean })
  | Skipped;

export interface FeatureReport {
  /** `insufficient_data` when the window holds fewer than `minRows` finite values. */
  readonly status: 'ok' | 'insufficient_data';
  /** Finite current values used. */
  readonly n: number;
  readonly nReference: number;
  /** NaN / infinite / missing current values, counted and excluded. */
  readonly nonFinite: number;
  readonly tests: Record<TestName, TestOutcome>;
  /** Voting tests that say drift at α (the verdict's own count is `rule.consensusVotes`). */
  readonly votes: number;
  readonly voters: readonly TestName[];
  readonly minVotes: number;
  /**
   * The verdict's rule: `ks-or-consensus` when KS is a voter (a KS rejection at `alpha` drifts the
   * feature by itself; otherwise `minVotes` of the other voters must vote at `consensusAlpha`, the
   * level KS's lattice leaves spare, see `consensusLevel`), else `consensus` (`minVotes` of `voters`
   * at `alpha`). `votes` and each test's `drift` are at `alpha`; `consensusVotes` at `consensusAlpha`
   * (on the adjusted scale under a correction).
   */
  readonly rule: {
    readonly kind: 'ks-or-consensus' | 'consensus';
    readonly alpha: number;
    readonly consensusAlpha: number;
    readonly consensusVotes: number;
  };
  readonly effect: {
    readonly wassersteinNormalized: number;
    readonly ksStatistic: number;
    readonly floorMet: boolean;
  };
  readonly drifted: boolean;
  /** votes / voters (the `DriftScore` metric). */
  readonly score: number;
  /** Share of voters agreeing with this feature's verdict. */
  readonly confidence: number;
  /**
   * The two distributions KS compares, compact enough to keep in every report (absent when a
   * side is empty, and in reports stored before it existed).
   */
  readonly distribution?: FeatureDistribution;
}

/** Probabilities at which a report keeps both samples' quantiles: 0, 0.05, …, 1. */
export const DISTRIBUTION_PROBABILITIES: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);

/**
 * A feature's reference and current distributions in a bounded size (≈ 70 numbers whatever
 * the window's size): both samples' quantiles at `DISTRIBUTION_PROBABILITIES` (NumPy 'linear';
 * points of each ECDF, so a reader draws them overlaid), and the counts of both in the bins the
 * JS and PSI tests use (inner edges at the reference's quantiles i/bins).
 */
export interface FeatureDistribution {
  readonly probabilities: readonly number[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
  readonly edges: readonly number[];
  readonly countsReference: readonly number[];
  readonly countsCurrent: readonly number[];
}

/** The compact distributions of one feature; undefined when either sample is empty. */
export function featureDistribution(
  ref: Sample,
  cur: Sample,
  binned: object | Skipped,
): FeatureDistribution | undefined {
  if (ref.n === 0 || cur.n === 0 || isSkipped(binned)) return undefined;
  const b = binned as {
    edges: readonly number[];
    countsReference: readonly number[];
    countsCurrent: readonly number[];
  };
  return {
    probabilities: DISTRIBUTION_PROBABILITIES,
    reference: DISTRIBUTION_PROBABILITIES.map((q) => quantileSorted(ref.sorted, q)),
    current: DISTRIBUTION_PROBABILITIES.map((q) => quantileSorted(cur.sorted, q)),
    edges: b.edges.slice(),
    countsReference: b.countsReference.slice(),
    countsCurrent: b.countsCurrent.slice(),
  };
}

/** The drift report of one model over one window (DESIGN.md §7). */
export interface DriftReport {
  readonly model: string;
  readonly version: number;
  readonly window: { readonly from: string; readonly to: string };
  /** Current rows in the window. */
  readonly n: number;
  readonly status: 'ok' | 'insufficient_data';
  readonly features: Record<string, FeatureReport>;
  /** Drifted features / features with enough data. */
  readonly driftedShare: number;
  /** Dataset verdict; `null` when there is not enough data for one. */
  readonly drift: boolean | null;
  /** Mean over evaluated features of the share of votes agreeing with the dataset verdict. */
  readonly confidence: number;
  readonly correction: DriftConfig['correction'];
  readonly driftShare: number;
}

const P_TESTS = ['ks', 'anderson', 'cvm', 'meanShift'] as const;

/** Multiple-testing adjustment of p-values (NaN stays NaN and is not counted). */
export function adjustPValues(p: readonly number[], method: DriftConfig['correction']): number[] {
  if (method === 'none') return p.slice();
  const idx = p.map((_, i) => i).filter((i) => !Number.isNaN(p[i]));
  const m = idx.length;
  const out = p.map(() => Number.NaN);
  if (method === 'bonferroni') {
    for (const i of idx) out[i] = Math.min(1, p[i] * m);
    return out;
  }
  // Benjamini-Hochberg step-up: adj(i) = min over j ≥ rank(i) of p(j)·m/j.
  const order = idx.slice().sort((a, b) => p[a] - p[b]);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const i = order[r];
    running = Math.min(running, (p[i] * m) / (r + 1));
    out[i] = running;
  }
  return out;
}

const pOf = (s: FeatureStats, t: (typeof P_TESTS)[number]): number => {
  const r = s[t];
  if (isSkipped(r)) return Number.NaN;
  // SciPy floors Anderson-Darling's p at 0.001: the true p is known to be smaller, and with a
  // multiple-testing correction (Bonferroni at 50 features: 0.001 × 50 = 0.05, never < α) the
  // floor alone would keep AD from ever voting. Beyond the table, vote with a log-linear
  // extrapolation through its last two points (0.005, 0.001): monotone, ≤ 0.001, and far
  // more conservative than the quadratic, which turns upward out there. Reports keep SciPy's.
  if (t === 'anderson' && !isSkipped(s.anderson) && s.anderson.floored) {
    const c = s.anderson.criticalValues;
    const slope = Math.log(0.001 / 0.005) / (c[6] - c[5]);
    return Math.min(0.001, Math.exp(Math.log(0.001) + slope * (s.anderson.statistic - c[6])));
  }
  return r.pvalue;
};

/**
 * Runs all tests on every feature and forms the verdicts. Reference and
 * current are per-feature value arrays; every test is f(reference, current).
 */
export function evaluateDrift(input: {
  readonly reference: Record<string, ArrayLike<number> | Sample>;
  readonly current: Record<string, ArrayLike<number>>;
  readonly features: readonly string[];
  readonly config: DriftConfig;
  /** Rows in the window (defaults to the largest current column length). */
  readonly rows?: number;
  /** Size-aware thresholds of the distance votes. @default defaultCalibrator (bootstrap, cached in memory) */
  readonly calibrator?: NullCalibrator;
}): Pick<
  DriftReport,
  'n' | 'status' | 'features' | 'driftedShare' | 'drift' | 'confidence' | 'correction' | 'driftShare'
> {
  const { config, features } = input;
  const calibrator = input.calibrator ?? defaultCalibrator;
  const stats: FeatureStats[] = [];
  const cfgs: FeatureConfig[] = [];
  const refs: Sample[] = [];
  const curs: Sample[] = [];
  const nonFinite: number[] = [];
  for (const name of features) {
    const cfg = featureConfig(config, name);
    const r = input.reference[name];
    const ref = r && 'sorted' in r ? r : prepareSample(r ?? []);
    const cur = prepareSample(input.current[name] ?? []);
    cfgs.push(cfg);
    refs.push(ref);
    curs.push(cur);
    nonFinite.push(cur.nonFinite);
    stats.push(featureStats(ref, cur, { bins: cfg.bins }));
  }
  const sufficient = stats.map((s, i) => s.nCurrent >= cfgs[i].minRows && s.nReference >= 2);
  const withVerdict = sufficient.filter(Boolean).length;
  // Correct each p-value test across the features that get a verdict.
  const adjusted = new Map<string, number[]>();
  for (const t of P_TESTS) {
    const raw = stats.map((s, i) => (sufficient[i] ? pOf(s, t) : Number.NaN));
    adjusted.set(t, adjustPValues(raw, config.correction));
  }
  const out: Record<string, FeatureReport> = {};
  let evaluated = 0;
  let drifted = 0;
  features.forEach((name, i) => {
    const s = stats[i];
    const cfg = cfgs[i];
    const voting = new Set(cfg.voters);
    const pAdj = (t: (typeof P_TESTS)[number]) => adjusted.get(t)?.[i] ?? Number.NaN;
    const withVote = (
      t: TestName,
      r: object | Skipped,
      drift: boolean,
      extra: Record<string, unknown> = {},
    ) => (isSkipped(r) ? r : { ...r, ...extra, drift, voting: voting.has(t) });
    // The feature's level on the raw scale (a correction divides it by the features with a verdict).
    const level = config.correction === 'none' ? cfg.alpha : cfg.alpha / Math.max(1, withVerdict);
    const ksRules = voting.has('ks');
    const consensusAlpha = ksRules
      ? consensusLevel({
          m: s.nReference,
          n: s.nCurrent,
          alpha: level,
          voters: cfg.voters.length,
          minVotes: cfg.minVotes,
        })
      : level;
    // The consensus counts every voter but KS at the consensus level: the same fraction of α on the
    // adjusted scale. Each test's own `drift` flag stays at α (what "p < α" means to a reader).
    const share = consensusAlpha / level;
    const pOfUsed = (t: (typeof P_TESTS)[number]) => (config.correction === 'none' ? pOf(s, t) : pAdj(t));
    const pVote = (t: (typeof P_TESTS)[number]) => {
      const p = pOfUsed(t);
      return { drift: p < cfg.alpha, extra: config.correction === 'none' ? {} : { pvalueAdjusted: p } };
    };
    const ks = pVote('ks');
    const ad = pVote('anderson');
    const cvm = pVote('cvm');
    const ms = pVote('meanShift');
    const w = s.wasserstein;
    const js = s.jensenShannon;
    const ps = s.psi;
    const limits = distanceLimits(calibrator, refs[i], s.nCurrent, cfg, { ok: sufficient[i], alpha: level });
    const consensusLimits =
      share === 1
        ? limits
        : distanceLimits(calibrator, refs[i], s.nCurrent, cfg, {
            ok: sufficient[i] && consensusAlpha > 0,
            alpha: consensusAlpha,
          });
    const compact = (r: object | Skipped) => {
      if (isSkipped(r)) return r;
      const { edges: _e, countsReference: _r, countsCurrent: _c, ...rest } = r as Record<string, unknown>;
      return rest;
    };
    const distanceVote = (t: DistanceTest, r: object | Skipped, value: number) =>
      withVote(t, t === 'wasserstein' ? r : compact(r), !isSkipped(r) && value > limits.thresholds[t], {
        threshold: limits.thresholds[t],
        thresholdSource: limits.source[t],
      });
    const tests: Record<TestName, TestOutcome> = {
      ks: withVote('ks', s.ks, ks.drift, ks.extra),
      wasserstein: distanceVote('wasserstein', w, isSkipped(w) ? 0 : w.normalized),
      anderson: withVote('anderson', compact(s.anderson), ad.drift, ad.extra),
      cvm: withVote('cvm', s.cvm, cvm.drift, cvm.extra),
      jensenShannon: distanceVote('jensenShannon', js, isSkipped(js) ? 0 : js.value),
      psi: distanceVote('psi', ps, isSkipped(ps) ? 0 : ps.value),
      meanShift: withVote('meanShift', s.meanShift, ms.drift, ms.extra),
    };
    const votes = cfg.voters.filter((t) => {
      const r = tests[t];
      return !isSkipped(r) && r.drift;
    }).length;
    const distanceValue: Record<DistanceTest, number> = {
      wasserstein: isSkipped(w) ? Number.NaN : w.normalized,
      jensenShannon: isSkipped(js) ? Number.NaN : js.value,
      psi: isSkipped(ps) ? Number.NaN : ps.value,
    };
    const consensusVotes = cfg.voters.filter((t) => {
      if (ksRules && t === 'ks') return false;
      if (t === 'wasserstein' || t === 'jensenShannon' || t === 'psi') {
        return distanceValue[t] > consensusLimits.thresholds[t];
      }
      return pOfUsed(t) < share * cfg.alpha;
    }).length;
    const wn = isSkipped(w) ? 0 : w.normalized;
    const ksD = isSkipped(s.ks) ? 0 : s.ks.statistic;
    const floorMet = wn >= cfg.effectFloor.wassersteinNormalized || ksD >= cfg.effectFloor.ksStatistic;
    const ok = sufficient[i];
    const distribution = featureDistribution(refs[i], curs[i], s.jensenShannon);
    const ksRejects = ksRules && ks.drift && !isSkipped(s.ks);
    const isDrifted = ok && floorMet && (ksRejects || consensusVotes >= cfg.minVotes);
    const score = votes / cfg.voters.length;
    if (ok) {
      evaluated++;
      if (isDrifted) drifted++;
    }
    out[name] = {
      status: ok ? 'ok' : 'insufficient_data',
      n: s.nCurrent,
      nReference: s.nReference,
      nonFinite: nonFinite[i],
      tests,
      votes,
      voters: cfg.voters,
      minVotes: cfg.minVotes,
      rule: {
        kind: ksRules ? 'ks-or-consensus' : 'consensus',
        alpha: cfg.alpha,
        consensusAlpha: share * cfg.alpha,
        consensusVotes,
      },
      effect: { wassersteinNormalized: wn, ksStatistic: ksD, floorMet },
      drifted: isDrifted,
      score,
      confidence: ok ? (isDrifted ? score : 1 - score) : 0,
      ...(distribution ? { distribution } : {}),
    };
  });
  const rows = input.rows ?? Math.max(0, ...features.map((f) => input.current[f]?.length ?? 0));
  if (evaluated === 0) {
    return {
      n: rows,
      status: 'insufficient_data',
      features: out,
      driftedShare: 0,
      drift: null,
      confidence: 0,
      correction: config.correction,
      driftShare: config.driftShare,
    };
  }
  const driftedShare = drifted / evaluated;
  const drift = driftedShare >= config.driftShare;
  let agree = 0;
  for (const f of Object.values(out)) if (f.status === 'ok') agree += drift ? f.score : 1 - f.score;
  return {
    n: rows,
    status: 'ok',
    features: out,
    driftedShare,
    drift,
    confidence: agree / evaluated,
    correction: config.correction,
    driftShare: config.driftShare,
  };
}

/** Where a distance's threshold came from: the config (`fixed`) or its null distribution at this n (`null`). */
export type ThresholdSource = 'fixed' | 'null';

/**
 * The thresholds of the three distance votes of one feature: a configured (fixed) threshold where
 * there is one, else the calibrator's null quantile at α for this reference and window size. A
 * feature without a verdict (too few rows) gets no simulation and never votes.
 */
export function distanceLimits(
  calibrator: NullCalibrator,
  reference: Sample,
  nCurrent: number,
  cfg: Pick<FeatureConfig, 'thresholds' | 'bins'>,
  opts: { readonly ok: boolean; readonly alpha: number },
): { thresholds: DistanceThresholds; source: Record<DistanceTest, ThresholdSource> } {
  const fixed = cfg.thresholds;
  const needsNull =
    fixed.wasserstein === undefined || fixed.jensenShannon === undefined || fixed.psi === undefined;
  const nul =
    opts.ok && needsNull
      ? calibrator.thresholds(reference, { nCurrent, alpha: opts.alpha, bins: cfg.bins })
      : {
          wasserstein: Number.POSITIVE_INFINITY,
          jensenShannon: Number.POSITIVE_INFINITY,
          psi: Number.POSITIVE_INFINITY,
        };
  const pick = (t: DistanceTest) => fixed[t] ?? nul[t];
  const src = (t: DistanceTest): ThresholdSource => (fixed[t] === undefined ? 'null' : 'fixed');
  return {
    thresholds: { wasserstein: pick('wasserstein'), jensenShannon: pick('jensenShannon'), psi: pick('psi') },
    source: { wasserstein: src('wasserstein'), jensenShannon: src('jensenShannon'), psi: src('psi') },
  };
}

const referenceCache = new WeakMap<readonly number[], Sample>();
/** Reference samples are sorted once per manifest object and reused across evaluations. */
function referenceSample(values: readonly number[]): Sample {
  let s = referenceCache.get(values);
  if (!s) {
    s = prepareSample(values);
    referenceCache.set(values, s);
  }
  return s;
}

/**
 * Builds the drift report of a model package's reference sample
 * (`manifest.reference.features[name].sample`) against the current rows of a
 * window. Missing or non-numeric values count as non-finite and are excluded.
 * Pure: no I/O, no clock.
 * @example buildDriftReport({ manifest, rows, window: { from, to }, config: parseDriftConfig() })
 */
export function buildDriftReport(input: {
  readonly manifest: Manifest;
  readonly rows: readonly Record<string, number>[];
  readonly window: { readonly from: string; readonly to: string };
  readonly config: DriftConfig;
  /** @default defaultCalibrator */
  readonly calibrator?: NullCalibrator;
}): DriftReport {
  const { manifest, rows, window, config } = input;
  const reference: Record<string, Sample> = {};
  const current: Record<string, Float64Array> = {};
  for (const f of manifest.features) {
    reference[f] = referenceSample(manifest.reference.features[f]?.sample ?? []);
    const col = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]?.[f];
      col[i] = typeof v === 'number' ? v : Number.NaN;
    }
    current[f] = col;
  }
  const verdict = evaluateDrift({
    reference,
    current,
    features: manifest.features,
    config,
    rows: rows.length,
    calibrator: input.calibrator,
  });
  return { model: manifest.name, version: manifest.version, window: { ...window }, ...verdict };
}
