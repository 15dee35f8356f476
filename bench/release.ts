import { Rng } from '#core/forest/rng.ts';
import { judge } from '#core/release/judge.ts';
import { parseReleaseSettings, type ReleaseSettings } from '#core/release/policy.ts';
import type { VersionReadings } from '#core/release/types.ts';
import { GOAL_COLUMNS, type Goal, goalRow, rounds, withSpread } from './judge.ts';
import type { BenchModule, BenchTable } from './types.ts';

/**
 * Statistics of the release judgement (issue 11): on simulated traffic, how often the
 * green-vs-blue anomaly-rate test rolls back an identical candidate (false rollback) and how
 * often it catches one with double the anomaly rate (detection), at the traffic a 10 % canary
 * sees in 5 minutes at 10, 100 and 1,000 requests/s (one row per request; blue gets the other
 * 90 %). Each figure is the median over rounds of `TRIALS` simulated judgements, with its
 * min–max. The judgement is the real one (`judge` from core), with everything but the anomaly
 * counts equal on both sides, so only the anomaly-rate test can decide.
 */

/** Base anomaly rate: the default model's contamination-like rate in production. */
const BASE_RATE = 0.01;
const TRIALS = 2000;
const ROUNDS = 3;
const RATES = [10, 100, 1000] as const;
const WINDOW_S = 300;
const WEIGHT = 0.1;

/** Binomial(n, p) by geometric gaps: O(np) per draw, exact. */
function binomial(rng: Rng, n: number, p: number): number {
  if (p <= 0) return 0;
  const logq = Math.log1p(-p);
  let k = 0;
  let pos = 0;
  for (;;) {
    pos += Math.floor(Math.log(1 - rng.next()) / logq) + 1;
    if (pos > n) return k;
    k++;
  }
}

const readings = (functionVersion: string, n: number, anomalies: number): VersionReadings => ({
  functionVersion,
  modelVersion: functionVersion === 'blue' ? 1 : 2,
  invocations: n,
  errors: 0,
  serverErrors: 0,
  dependencyErrors: 0,
  p99DurationMs: 20,
  rowsScored: n,
  anomalies,
  captureErrors: 0,
});

/** Share of `TRIALS` judgements that roll back, with green's rate `greenRate`. */
function rollbackRate(settings: ReleaseSettings, rps: number, greenRate: number, seed: number): number {
  const rng = new Rng(seed);
  const total = rps * WINDOW_S;
  const nGreen = Math.round(total * WEIGHT);
  const nBlue = total - nGreen;
  let rolled = 0;
  for (let t = 0; t < TRIALS; t++) {
    const v = judge(
      {
        blue: readings('blue', nBlue, binomial(rng, nBlue, BASE_RATE)),
        green: readings('green', nGreen, binomial(rng, nGreen, greenRate)),
        lastStep: false,
        pausesSoFar: 0,
      },
      settings,
    );
    if (v.decision === 'rollback') rolled++;
  }
  return rolled / TRIALS;
}

/** Candidate settings of the anomaly-rate test; the first is the shipped default. */
const CANDIDATES: ReadonlyArray<{ name: string; anomalyRate: Record<string, number> }> = [
  { name: 'default: α 0.005, ratio 1.5, ≥ 100 rows', anomalyRate: {} },
  { name: 'α 0.01, ratio 1.5, ≥ 100 rows', anomalyRate: { alpha: 0.01 } },
  { name: 'α 0.05, ratio 1.2, ≥ 100 rows', anomalyRate: { alpha: 0.05, maxRatio: 1.2 } },
  { name: 'α 0.001, ratio 2, ≥ 100 rows', anomalyRate: { alpha: 0.001, maxRatio: 2 } },
  { name: 'α 0.005, ratio 1.5, ≥ 20 rows', anomalyRate: { minRows: 20 } },
];

const FALSE_GOAL: Goal = { kind: 'ratio', text: '≤ 1 % false rollbacks', target: 1, better: 'lower' };
const DETECT_GOAL: Goal = {
  kind: 'ratio',
  text: '≥ 90 % detection of 2× rate',
  target: 0.9,
  better: 'higher',
};

export const run: BenchModule = async () => {
  const rows: string[][] = [];
  const goals: string[][] = [];
  for (const [ci, c] of CANDIDATES.entries()) {
    const settings = parseReleaseSettings({ judgement: { anomalyRate: c.anomalyRate } });
    for (const rps of RATES) {
      const seed = (r: number) => 1_000_003 * (ci + 1) + rps * 7919 + r;
      const fp = await rounds(ROUNDS, (r) => rollbackRate(settings, rps, BASE_RATE, seed(r)));
      const tp = await rounds(ROUNDS, (r) => rollbackRate(settings, rps, 2 * BASE_RATE, seed(r) + 17));
      const nGreen = Math.round(rps * WINDOW_S * WEIGHT);
      rows.push([
        c.name,
        String(rps),
        String(nGreen),
        withSpread(pctRounds(fp), 1),
        withSpread(pctRounds(tp), 1),
      ]);
      if (ci === 0) {
        goals.push([`${rps} req/s`, ...goalRow(FALSE_GOAL, pctRounds(fp), fp.load, '%')]);
        if (rps >= 100) goals.push([`${rps} req/s`, ...goalRow(DETECT_GOAL, pctRounds(tp), tp.load, '%')]);
      }
    }
  }
  const tables: BenchTable[] = [
    {
      title: `Release judgement: anomaly rate green vs blue, 10 % canary for 5 minutes (base rate ${BASE_RATE * 100} %, ${TRIALS} judgements × ${ROUNDS} rounds)`,
      columns: [
        'test settings',
        'req/s',
        'green rows',
        'false rollback % (identical)',
        'detection % (2× rate)',
      ],
      rows,
      notes: [
        'Simulated: binomial anomaly counts per version, judged by lambdas/core/release/judge.ts (two-sided log rate-ratio test of H0 ratio = 1 AND the rate ratio outside [1/maxRatio, maxRatio]; with a retrained candidate’s expected ratio r both are taken relative to r).',
      ],
    },
    {
      title: 'Release judgement goals (default settings)',
      columns: ['traffic', ...GOAL_COLUMNS],
      rows: goals,
    },
  ];
  return tables;
};

/** Rounds of shares as percentages. */
const pctRounds = <R extends { values: readonly number[]; median: number; min: number; max: number }>(
  r: R,
) => ({
  values: r.values.map((v) => v * 100),
  median: r.median * 100,
  min: r.min * 100,
  max: r.max * 100,
});
