import jStat from 'jstat';
import { ks2samp } from '#core/drift/ks.ts';
import type { ReleaseSettings } from './policy.ts';
import type { Breach, ExpectedDifference, Judgement, ShadowComparison, VersionReadings } from './types.ts';

/** Result of {@link rateRatioTest}. */
export interface RateRatio {
  readonly blue: number;
  readonly green: number;
  /** Observed green rate / blue rate; Infinity when blue is 0 and green is not, 1 when both are 0. */
  readonly ratio: number;
  /** The ratio H0 says green's rate has to blue's (1 = the same rate). */
  readonly expectedRatio: number;
  /** Variance of ln(`expectedRatio`) added to the test's (0 = the ratio is known exactly). */
  readonly expectedLogVariance: number;
  readonly z: number;
  /** Two-sided p-value of H0: green rate / blue rate = `expectedRatio`. */
  readonly pValue: number;
}

/**
 * The log rate-ratio (Katz) test of H0: p_g / p_b = r, two-sided:
 * z = (ln(p̂_g / p̂_b) − ln r) / √((1 − p̂_g)/(n_g·p̂_g) + (1 − p̂_b)/(n_b·p̂_b)), p = 2·(1 − Φ(|z|)).
 * With r = 1 it tests equal rates (as the two-proportion test did, on the log scale, which is what
 * lets a ratio r ≠ 1 be the null).
 *
 * An r that was itself estimated (the candidate's evaluation, on a few hundred holdout rows) is
 * uncertain too: its variance `expectedLogVariance` of ln r is added under the root, so the noise
 * of a small evaluation cannot roll a good candidate back. 0 (the default) treats r as exact.
 *
 * Zero guard: when either side has no hits the log is undefined, so both sides get the
 * Haldane–Anscombe correction (½ added to each hit count, 1 to each row count) for z; the
 * reported `ratio` stays the raw one. No variance at all (both sides flag every row) gives z = 0, p = 1.
 * @throws RangeError without rows on both sides, or with a non-positive `expectedRatio`
 */
export function rateRatioTest(
  blueHits: number,
  blueN: number,
  greenHits: number,
  greenN: number,
  expectedRatio = 1,
  expectedLogVariance = 0,
): RateRatio {
  if (blueN <= 0 || greenN <= 0) throw new RangeError('rateRatioTest needs rows on both sides');
  if (!(expectedRatio > 0 && Number.isFinite(expectedRatio))) {
    throw new RangeError('rateRatioTest needs a positive, finite expected ratio');
  }
  if (!(expectedLogVariance >= 0 && Number.isFinite(expectedLogVariance))) {
    throw new RangeError('rateRatioTest needs a finite, non-negative variance of the expected ratio');
  }
  const pb = blueHits / blueN;
  const pg = greenHits / greenN;
  const ratio = pb > 0 ? pg / pb : pg > 0 ? Number.POSITIVE_INFINITY : 1;
  const guard = blueHits === 0 || greenHits === 0 ? 0.5 : 0;
  const [xb, nb, xg, ng] = [blueHits + guard, blueN + 2 * guard, greenHits + guard, greenN + 2 * guard];
  // (1 − p̂)/(n·p̂) = 1/x − 1/n.
  const variance = 1 / xb - 1 / nb + 1 / xg - 1 / ng + expectedLogVariance;
  const se = Math.sqrt(Math.max(0, variance));
  const z = se > 0 ? (Math.log(xg / ng / (xb / nb)) - Math.log(expectedRatio)) / se : 0;
  const pValue = se > 0 ? 2 * (1 - jStat.normal.cdf(Math.abs(z), 0, 1)) : 1;
  return { blue: pb, green: pg, ratio, expectedRatio, expectedLogVariance, z, pValue: Math.min(1, pValue) };
}

/** Average ranks (1-based; ties share the mean of their positions). */
function ranks(x: readonly number[]): Float64Array {
  const idx = x.map((_, i) => i).sort((a, b) => (x[a] as number) - (x[b] as number));
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1] as number] === x[idx[i] as number]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k] as number] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation: Pearson's r of the average ranks (NaN when a side is constant). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError('spearman needs paired samples');
  const n = a.length;
  if (n < 2) return Number.NaN;
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (ra[i] as number) - mean;
    const db = (rb[i] as number) - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}

/** One shadow row: blue's result and the candidate's on the same input. */
export interface ShadowPair {
  readonly blueScore: number;
  readonly blueAnomaly: boolean;
  readonly greenScore: number;
  readonly greenAnomaly: boolean;
}

/**
 * The shadow comparison of DESIGN.md §8: verdict disagreement, Spearman correlation of the
 * scores, anomaly-rate ratio, and the p99 the candidate added (measured by the score path).
 */
export function compareShadow(pairs: readonly ShadowPair[], addedP99Ms: number): ShadowComparison {
  const n = pairs.length;
  let differ = 0;
  let blueHits = 0;
  let greenHits = 0;
  for (const p of pairs) {
    if (p.blueAnomaly !== p.greenAnomaly) differ++;
    if (p.blueAnomaly) blueHits++;
    if (p.greenAnomaly) greenHits++;
  }
  return {
    rows: n,
    disagreement: n > 0 ? differ / n : 0,
    rankCorrelation: spearman(
      pairs.map((p) => p.blueScore),
      pairs.map((p) => p.greenScore),
    ),
    anomalyRateRatio: blueHits > 0 ? greenHits / blueHits : greenHits > 0 ? Number.POSITIVE_INFINITY : 1,
    blueAnomalies: blueHits,
    greenAnomalies: greenHits,
    addedP99Ms,
  };
}

/**
 * Standard errors of an evaluated disagreement or rank correlation the shadow judgement allows
 * beyond its tolerance: 3 keeps a good candidate's false rollback from the evaluation's noise
 * alone near 0.1 % (one-sided normal tail).
 */
export const EVALUATION_NOISE_ALLOWANCE = 3;

/** Everything one judgement looks at. */
export interface JudgeInput {
  readonly blue?: VersionReadings;
  readonly green?: VersionReadings;
  /** Captured scores per version in the window (for KS); absent = not judged. */
  readonly scores?: { readonly blue: readonly number[]; readonly green: readonly number[] };
  readonly shadow?: ShadowComparison;
  /** Whether this is the release's last step (all clear → promote, not continue). */
  readonly lastStep: boolean;
  /** Pauses in a row before this judgement. */
  readonly pausesSoFar: number;
  /**
   * How green is expected to differ from blue (the release record's `expected`, from the
   * candidate's evaluation); absent = no difference expected (ratio 1, D 0).
   */
  readonly expected?: Pick<ExpectedDifference, 'anomalyRateRatio' | 'scoreKsD'> &
    Partial<Omit<ExpectedDifference, 'anomalyRateRatio' | 'scoreKsD' | 'source' | 'detail'>>;
}

/** The decision and every number it rests on (the `Judgement` minus where/when). */
export type Verdict = Pick<Judgement, 'decision' | 'breaches' | 'anomalyRate' | 'scoreKs' | 'shadow'> & {
  /** Signals not judged and why (too few rows, no captures …), for the record. */
  readonly notJudged: readonly string[];
};

const rateBreach = (
  signal: string,
  count: number,
  n: number,
  rule: { readonly maxRate: number; readonly minCount: number },
): Breach | undefined => {
  const rate = n > 0 ? count / n : count > 0 ? 1 : 0;
  return count >= rule.minCount && rate > rule.maxRate
    ? { signal, value: rate, limit: rule.maxRate, detail: `${count} of ${n}` }
    : undefined;
};

/**
 * Decides one step of a release from its readings (pure; DESIGN.md §8):
 *
 * 1. Dependency 503s on either version → `pause` (an outage says nothing about green), or after
 *    `maxPauses` pauses in a row → `rollback` with signal `paused-too-long`.
 * 2. Any breach → `rollback`: green's errors, genuine 500s, capture errors (rates, with a
 *    minimum count), p99 (absolute, or relative to blue with a minimum delta), anomaly rate vs
 *    blue (the log rate-ratio test against the expected ratio r significant *and* the observed
 *    ratio / r outside [1/maxRatio, maxRatio]), KS of the score distributions (significant *and*
 *    D beyond the expected D + `maxD`), and in the shadow phase disagreement (beyond the expected
 *    + `maxDisagreement` + 3 of its standard errors), rank correlation (below
 *    `minRankCorrelation` − (1 − the expected) − 3 standard errors), anomaly-rate ratio / r and
 *    added p99.
 *
 * The expected difference is what the retraining's Evaluate measured between this candidate and
 * production on recent traffic: a retrained candidate is *meant* to flag shifted traffic less
 * than the model it replaces, so the judgement asks whether green differs from blue by more than
 * that, not whether it differs at all. Without one (r = 1, D = 0) it is a plain regression check.
 * 3. Otherwise `promote` after the last step, else `continue`.
 */
export function judge(input: JudgeInput, settings: ReleaseSettings): Verdict {
  const j = settings.judgement;
  const breaches: Breach[] = [];
  const notJudged: string[] = [];
  const { blue, green } = input;
  let anomalyRate: Verdict['anomalyRate'];
  let scoreKs: Verdict['scoreKs'];
  const expectedRatio = input.expected?.anomalyRateRatio ?? 1;
  const expectedD = input.expected?.scoreKsD ?? 0;
  const expectedLogVariance = input.expected?.anomalyRateLogVariance ?? 0;

  const dependency = (blue?.dependencyErrors ?? 0) + (green?.dependencyErrors ?? 0);
  if (dependency >= j.pauseOnDependencyErrors) {
    if (input.pausesSoFar + 1 > j.maxPauses) {
      return {
        decision: 'rollback',
        breaches: [
          {
            signal: 'paused-too-long',
            value: input.pausesSoFar + 1,
            limit: j.maxPauses,
            detail: `${dependency} dependency errors; judged paused ${input.pausesSoFar} times in a row`,
          },
        ],
        notJudged: ['all: dependency outage'],
      };
    }
    return {
      decision: 'pause',
      breaches: [],
      notJudged: [`all: ${dependency} dependency errors (outage), judgement paused`],
    };
  }

  if (green) {
    if (green.invocations >= j.minInvocations) {
      const e = rateBreach('errors', green.errors, green.invocations, j.errors);
      if (e) breaches.push(e);
      const s = rateBreach('server-errors', green.serverErrors, green.invocations, j.serverErrors);
      if (s) breaches.push(s);
      const p = green.p99DurationMs;
      if (p !== undefined) {
        const bp = blue?.p99DurationMs;
        if (p > j.p99.maxMs) {
          breaches.push({ signal: 'p99', value: p, limit: j.p99.maxMs, detail: 'absolute limit (ms)' });
        } else if (bp !== undefined && p > bp * j.p99.maxRatio && p - bp >= j.p99.minDeltaMs) {
          breaches.push({
            signal: 'p99',
            value: p,
            limit: bp * j.p99.maxRatio,
            detail: `blue p99 ${bp} ms × ${j.p99.maxRatio}`,
          });
        }
      }
    } else {
      // A handler that throws on every call may still be below minInvocations at 10 %: all
      // failing is a breach at any count above the minimum.
      const e = rateBreach('errors', green.errors, green.invocations, j.errors);
      if (e && green.errors >= green.invocations) breaches.push(e);
      else notJudged.push(`errors/p99: ${green.invocations} invocations < ${j.minInvocations}`);
    }
    const c = rateBreach('capture-errors', green.captureErrors, green.rowsScored, j.captureErrors);
    if (c) breaches.push(c);

    if (blue && blue.rowsScored > 0 && green.rowsScored >= j.anomalyRate.minRows) {
      anomalyRate = rateRatioTest(
        blue.anomalies,
        blue.rowsScored,
        green.anomalies,
        green.rowsScored,
        expectedRatio,
        expectedLogVariance,
      );
      const { ratio, pValue } = anomalyRate;
      const relative = ratio / expectedRatio;
      const beyond = relative > j.anomalyRate.maxRatio || relative < 1 / j.anomalyRate.maxRatio;
      if (pValue < j.anomalyRate.alpha && beyond) {
        breaches.push({
          signal: 'anomaly-rate',
          value: relative,
          limit: j.anomalyRate.maxRatio,
          detail: `green ${fmt(anomalyRate.green)} vs blue ${fmt(anomalyRate.blue)}: ratio ${fmt(ratio)}, expected ${fmt(expectedRatio)}, p=${pValue.toExponential(2)}`,
        });
      }
    } else {
      notJudged.push(`anomaly-rate: ${green.rowsScored} green rows < ${j.anomalyRate.minRows}`);
    }
  }

  const sc = input.scores;
  if (sc && sc.blue.length >= j.scoreKs.minSamples && sc.green.length >= j.scoreKs.minSamples) {
    const r = ks2samp(Float64Array.from(sc.blue).sort(), Float64Array.from(sc.green).sort(), 'auto');
    const limitD = expectedD + j.scoreKs.maxD;
    scoreKs = {
      d: r.statistic,
      pValue: r.pvalue,
      nBlue: sc.blue.length,
      nGreen: sc.green.length,
      expectedD,
      limitD,
    };
    if (r.statistic > limitD && r.pvalue < j.scoreKs.alpha) {
      breaches.push({
        signal: 'score-ks',
        value: r.statistic,
        limit: limitD,
        detail: `expected D ${fmt(expectedD)} + maxD ${j.scoreKs.maxD}; p=${r.pvalue.toExponential(2)}, n=${sc.blue.length}/${sc.green.length}`,
      });
    }
  } else if (green) {
    notJudged.push(
      `score-ks: ${sc?.blue.length ?? 0}/${sc?.green.length ?? 0} captured scores < ${j.scoreKs.minSamples}`,
    );
  }

  const sh = input.shadow;
  if (sh) {
    const s = settings.shadow;
    if (sh.rows >= s.minRows) {
      // Tolerances around what the evaluation saw between the two models on recent traffic.
      // The evaluated numbers rest on a few hundred holdout rows: their noise is allowed for with
      // EVALUATION_NOISE_ALLOWANCE standard errors (0 without an evaluation).
      const e = input.expected;
      const expDis = e?.disagreement ?? 0;
      const expRho = e?.rankCorrelation ?? 1;
      const maxDis = expDis + s.maxDisagreement + EVALUATION_NOISE_ALLOWANCE * (e?.disagreementStdErr ?? 0);
      const minRho =
        s.minRankCorrelation - (1 - expRho) - EVALUATION_NOISE_ALLOWANCE * (e?.rankCorrelationStdErr ?? 0);
      if (sh.disagreement > maxDis) {
        breaches.push({
          signal: 'shadow-disagreement',
          value: sh.disagreement,
          limit: maxDis,
          ...(expDis > 0 ? { detail: `expected ${fmt(expDis)} + ${s.maxDisagreement}` } : {}),
        });
      }
      if (!(sh.rankCorrelation >= minRho)) {
        breaches.push({
          signal: 'shadow-rank-correlation',
          value: sh.rankCorrelation,
          limit: minRho,
          ...(expRho < 1 ? { detail: `expected ${fmt(expRho)} − ${fmt(1 - s.minRankCorrelation)}` } : {}),
        });
      }
      const max = j.anomalyRate.maxRatio;
      const relative = sh.anomalyRateRatio / expectedRatio;
      // As at a traffic step: beyond the ratio band *and* significant by the log rate-ratio test
      // (the evaluation's own noise in r included), so a few hundred shadow rows with a handful of
      // anomalies cannot roll a good candidate back on chance. Records without counts: band only.
      const test =
        sh.blueAnomalies !== undefined && sh.greenAnomalies !== undefined
          ? rateRatioTest(
              sh.blueAnomalies,
              sh.rows,
              sh.greenAnomalies,
              sh.rows,
              expectedRatio,
              expectedLogVariance,
            )
          : undefined;
      if (
        (relative > max || relative < 1 / max) &&
        (test === undefined || test.pValue < j.anomalyRate.alpha)
      ) {
        breaches.push({
          signal: 'shadow-anomaly-rate',
          value: relative,
          limit: max,
          detail: `ratio ${fmt(sh.anomalyRateRatio)}, expected ${fmt(expectedRatio)}${test ? `, p=${test.pValue.toExponential(2)}` : ''}`,
        });
      }
    } else {
      notJudged.push(`shadow: ${sh.rows} rows < ${s.minRows}`);
    }
    if (sh.addedP99Ms > s.maxAddedP99Ms) {
      breaches.push({ signal: 'shadow-latency', value: sh.addedP99Ms, limit: s.maxAddedP99Ms });
    }
  }

  const decision = breaches.length > 0 ? 'rollback' : input.lastStep ? 'promote' : 'continue';
  return {
    decision,
    breaches,
    notJudged,
    ...(anomalyRate ? { anomalyRate } : {}),
    ...(scoreKs ? { scoreKs } : {}),
    ...(sh ? { shadow: sh } : {}),
  };
}

const fmt = (x: number) => x.toFixed(4);
