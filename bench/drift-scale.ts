/**
 * Drift over big windows (issue 15): a 10M-row window evaluated for real the way the Distributed
 * Map does it — one summary per partition, merged and reduced to the report — against the exact
 * in-memory evaluation of the same 10M rows, and the 100M-row case by simulation (partition
 * count × per-partition time measured here, plus a reduce over that many summaries).
 *
 * `VIGIL_BENCH_DRIFT_ROWS` (default 10,000,000) and `VIGIL_BENCH_DRIFT_PARTITIONS` (default 10)
 * scale the real run down for a quick look.
 */
import { parseDriftConfig } from '#core/drift/config.ts';
import { reduceDriftSummaries } from '#core/drift/reduce.ts';
import { evaluateDrift } from '#core/drift/report.ts';
import {
  DEFAULT_SUMMARY_CAPACITY,
  mergeSummaries,
  summarizeRows,
  type WeightedRow,
  type WindowSummary,
} from '#core/drift/summary.ts';
// The tests' seeded normals and manifest builder, so bench and tests draw the same kind of data.
import { manifestWith, normal } from '../test/unit/drift/helpers.ts';
import { GOAL_COLUMNS, type Goal, goalRow, loadNow, rounds, summarize, withSpread } from './judge.ts';
import type { BenchModule, BenchTable } from './types.ts';

const ROWS = Number(process.env.VIGIL_BENCH_DRIFT_ROWS ?? 10_000_000);
const PARTITIONS = Number(process.env.VIGIL_BENCH_DRIFT_PARTITIONS ?? 10);
/** The simulated case: 100M rows in 100 partitions of 1M, children run `MAP_CONCURRENCY` at a time. */
const SIM_ROWS = 100_000_000;
const SIM_PARTITIONS = 100;
const MAP_CONCURRENCY = 40;

const config = parseDriftConfig();
const window = { from: '2025-01-01T00:00:00.000Z', to: '2025-01-01T01:00:00.000Z' };

interface CaseResult {
  readonly name: string;
  readonly partitionMs: number[];
  readonly reduceMs: number;
  readonly exactMs: number;
  readonly exactD: number;
  readonly approxD: number;
  readonly bound: number;
  readonly exactDrift: boolean | null;
  readonly approxDrift: boolean | null;
  readonly summaries: WindowSummary[];
}

function runCase(name: string, shift: number, seed: number): CaseResult {
  const manifest = manifestWith({ x: normal(10_000, 7) });
  const column = normal(ROWS, seed, shift);
  const per = Math.ceil(ROWS / PARTITIONS);
  const summaries: WindowSummary[] = [];
  const partitionMs: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    // A partition's rows as a reader hands them over (objects with a sample rate), built before
    // the clock starts: the child's read is not part of this figure.
    const rows: WeightedRow[] = [];
    for (let i = p * per; i < Math.min(ROWS, (p + 1) * per); i++) {
      rows.push({ features: { x: column[i] }, sampleRate: 1 });
    }
    const t0 = performance.now();
    summaries.push(summarizeRows(['x'], rows, { seed: seed * 7919 + p }));
    partitionMs.push(performance.now() - t0);
  }
  const t1 = performance.now();
  const approx = reduceDriftSummaries({ manifest, summaries, window, config });
  const reduceMs = performance.now() - t1;
  const t2 = performance.now();
  const exact = evaluateDrift({
    reference: { x: manifest.reference.features.x.sample },
    current: { x: column },
    features: ['x'],
    config,
    rows: ROWS,
  });
  const exactMs = performance.now() - t2;
  const d = (r: { features: Record<string, { tests: { ks: object } }> }) =>
    (r.features.x.tests.ks as { statistic?: number }).statistic ?? Number.NaN;
  return {
    name,
    partitionMs,
    reduceMs,
    exactMs,
    exactD: d(exact),
    approxD: d(approx),
    bound: approx.approximation.ksErrorBound,
    exactDrift: exact.drift,
    approxDrift: approx.drift,
    summaries,
  };
}

export const run: BenchModule = async () => {
  const load0 = loadNow();
  const cases = [runCase('unshifted', 0, 101), runCase('shifted 0.2 sd', 0.2, 202)];
  const rowsLabel = ROWS.toLocaleString('en-US');
  const real: BenchTable = {
    title: `Drift at scale: ${rowsLabel} rows in ${PARTITIONS} partitions, summaries (k = ${DEFAULT_SUMMARY_CAPACITY.toLocaleString('en-US')}) vs exact`,
    columns: [
      'case',
      'per partition ms: median (min–max)',
      'reduce ms',
      'exact in-memory ms',
      'KS exact',
      'KS approx',
      '|Δ| / bound',
      'verdict exact / approx',
    ],
    rows: cases.map((c) => [
      c.name,
      withSpread(summarize(c.partitionMs), 0),
      c.reduceMs.toFixed(0),
      c.exactMs.toFixed(0),
      c.exactD.toFixed(5),
      c.approxD.toFixed(5),
      `${(Math.abs(c.approxD - c.exactD) / c.bound).toFixed(2)} (bound ${c.bound.toFixed(4)})`,
      `${c.exactDrift} / ${c.approxDrift}`,
    ]),
    notes: [
      'Per-partition time is the summary of one partition already in memory (the child’s read from DynamoDB or S3 is not included).',
      `Load at start ${load0.toFixed(2)}, at end ${loadNow().toFixed(2)} (1-minute average).`,
    ],
  };

  // Goals: the approximation's error against its stated bound (a ratio, judged at any load),
  // the verdicts agreeing, and one partition of 1M rows well inside a Lambda's 15 minutes.
  const errRatio = summarize(cases.map((c) => Math.abs(c.approxD - c.exactD) / c.bound));
  const agree = summarize(cases.map((c) => (c.exactDrift === c.approxDrift ? 1 : 0)));
  const partitionRows = ROWS / PARTITIONS;
  const perMillion = await rounds(
    1,
    () => summarize(cases.flatMap((c) => c.partitionMs.map((ms) => (ms * 1e6) / partitionRows))).median,
  );
  const errGoal: Goal = {
    kind: 'ratio',
    text: '|KS approx − exact| ≤ stated bound',
    target: 1,
    better: 'lower',
  };
  const agreeGoal: Goal = {
    kind: 'ratio',
    text: 'same verdict as exact (share of cases)',
    target: 1,
    better: 'higher',
  };
  const timeGoal: Goal = {
    kind: 'absolute',
    text: '1M-row partition summarized ≤ 60 s',
    target: 60_000,
    better: 'lower',
  };
  const load = Math.max(load0, loadNow(), perMillion.load);

  // 100M by simulation: 100 partitions of 1M rows each at the measured per-row cost; the
  // reduce is measured for real over 100 summaries (the real ones, repeated).
  const many = Array.from(
    { length: SIM_PARTITIONS },
    (_, i) => cases[0].summaries[i % cases[0].summaries.length],
  );
  const reduce100 = await rounds(3, () => {
    const t0 = performance.now();
    // As the reduce step folds them: one summary at a time into the running merge.
    many.reduce((acc, s) => mergeSummaries([acc, s]));
    return performance.now() - t0;
  });
  const childMs = perMillion.median * (SIM_ROWS / SIM_PARTITIONS / 1e6);
  const serialS = (childMs * SIM_PARTITIONS) / 1000;
  const wallS = (Math.ceil(SIM_PARTITIONS / MAP_CONCURRENCY) * childMs + reduce100.median) / 1000;
  const sim: BenchTable = {
    title: 'Drift at scale: 100M rows by simulation (Distributed Map)',
    columns: [
      'partitions × rows',
      'child ms (measured per 1M)',
      'children serial s',
      `wall s at concurrency ${MAP_CONCURRENCY}`,
      'fold of 100 summaries ms',
    ],
    rows: [
      [
        `${SIM_PARTITIONS} × 1,000,000`,
        childMs.toFixed(0),
        serialS.toFixed(1),
        wallS.toFixed(1),
        withSpread(reduce100, 0),
      ],
    ],
    notes: [
      'Simulated: per-partition compute measured above × partition count; Step Functions start-up, reads and the summaries’ S3 round trips are not included.',
    ],
  };
  const goals: BenchTable = {
    title: 'Drift at scale: goals',
    columns: GOAL_COLUMNS,
    rows: [
      goalRow(errGoal, errRatio, load),
      goalRow(agreeGoal, agree, load),
      goalRow(timeGoal, { ...perMillion, values: perMillion.values }, load, 'ms per 1M rows'),
    ],
  };
  return [real, sim, goals];
};
