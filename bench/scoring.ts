import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPackageDir } from '#app/package-dir.ts';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { servedScorer } from '#core/forest/wasm-kernel.ts';
import { buildIsolationForestPackage } from '#core/model/build.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { type Engine, fastEngine, loadModel } from '#core/scoring.ts';
import type { TreeEnsemble } from '#core/trees.ts';
import { GOAL_COLUMNS, type Goal, goalRow, type Rounds, summarize, underLoad, withSpread } from './judge.ts';
import type { BenchModule, BenchTable } from './types.ts';
import { median, percentile, timeCalls } from './util.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The 10-feature / 100-tree forest of the issue, trained on seeded normals. */
export function tenFeatureModel(): ModelPackage {
  const rng = new Rng(10);
  const cols = Array.from({ length: 10 }, () => Float64Array.from({ length: 5000 }, () => rng.normal()));
  const forest = trainIsolationForest(cols, { nEstimators: 100, maxSamples: 256, seed: 3 });
  return buildIsolationForestPackage({
    name: 'bench10',
    features: cols.map((_, i) => `f${i}`),
    columns: cols,
    forest,
    contamination: 'auto',
    createdAt: '2026-01-01T00:00:00.000Z',
    dataSha256: '0'.repeat(64),
  });
}

function sampleRows(pkg: ModelPackage, n: number): Float32Array {
  const f = pkg.manifest.features;
  const ref = pkg.manifest.reference.features;
  const x = new Float32Array(n * f.length);
  const m = ref[f[0]].sample.length;
  for (let r = 0; r < n; r++)
    for (let k = 0; k < f.length; k++) x[r * f.length + k] = ref[f[k]].sample[r % m];
  return x;
}

/** The engines compared: the baseline, the plain TypeScript kernel (the reference) and the server's. */
const ENGINES = [
  'onnxruntime-web (baseline)',
  'fast path, plain TS kernel',
  'fast path, wasm kernel (served)',
] as const;
const ROUNDS = 15;
const BATCH = 1000;
const SINGLES = 300;

interface EngineFigures {
  /** µs per row of a 1,000-row batch (wall clock, median call), one value per round. */
  readonly batch: number[];
  /**
   * CPU µs per row of the same calls (`process.cpuUsage`): on a busy machine a 3 ms call is
   * preempted far more often than a 0.6 ms one, which inflates wall-clock ratios; CPU time
   * is not charged for the time slices other processes take.
   */
  readonly cpu: number[];
  /** 1-row call latency p50 and p99 (µs) of each round's calls. */
  readonly p50: number[];
  readonly p99: number[];
}

interface ModelFigures {
  readonly name: string;
  readonly engines: Record<(typeof ENGINES)[number], EngineFigures>;
  /** Node steps per row: every row takes depth(tree) steps in each tree (a count, not a time). */
  readonly steps: number;
  readonly load: number;
}

/**
 * Each round times every engine on the same rows, one after another, so a busy machine
 * slows all three alike and the per-round ratios stay meaningful.
 */
async function measureModel(name: string, pkg: ModelPackage): Promise<ModelFigures> {
  const parsed = parseOnnx(pkg.onnx);
  // What loadModel serves, built here so the bench can check it runs the wasm kernel.
  const served = servedScorer(parsed.ensemble);
  const engines: Record<(typeof ENGINES)[number], Engine> = {
    [ENGINES[0]]: (await loadModel(pkg, { engine: 'onnx' })).engine,
    [ENGINES[1]]: fastEngine(parsed, pkg.manifest),
    [ENGINES[2]]: fastEngine(parsed, pkg.manifest, served),
  };
  const nf = pkg.manifest.features.length;
  const batch = sampleRows(pkg, BATCH);
  const figures = {} as Record<(typeof ENGINES)[number], EngineFigures>;
  for (const e of ENGINES) figures[e] = { batch: [], cpu: [], p50: [], p99: [] };
  for (const e of ENGINES) {
    await timeCalls(() => engines[e].score(batch, BATCH), 20, 20);
    await timeCalls(() => engines[e].score(batch.subarray(0, nf), 1), 500, 500);
  }
  if (served.kernel !== 'wasm') throw new Error(`${name}: the served scorer is not on the wasm kernel`);
  const { load } = await underLoad(async () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const e of ENGINES) {
        const engine = engines[e];
        const cpu0 = process.cpuUsage();
        const times = await timeCalls(() => engine.score(batch, BATCH), 10, 0);
        const cpu = process.cpuUsage(cpu0);
        figures[e].batch.push(median(times) / BATCH);
        figures[e].cpu.push((cpu.user + cpu.system) / (10 * BATCH));
        let i = round;
        const single = await timeCalls(
          () => {
            const r = i++ % BATCH;
            return engine.score(batch.subarray(r * nf, (r + 1) * nf), 1);
          },
          SINGLES,
          10,
        );
        figures[e].p50.push(percentile(single, 50));
        figures[e].p99.push(percentile(single, 99));
      }
    }
  });
  return { name, engines: figures, steps: stepsPerRow(parsed.ensemble), load };
}

function stepsPerRow(t: TreeEnsemble): number {
  const depth = (n: number): number =>
    t.feature[n] < 0 ? 0 : 1 + Math.max(depth(t.trueChild[n]), depth(t.falseChild[n]));
  return Array.from(t.roots, depth).reduce((a, b) => a + b, 0);
}

/** Per-round ratio a[i] / b[i], summarized. */
const ratio = (a: readonly number[], b: readonly number[]) => summarize(a.map((v, i) => v / b[i]));

function scoringTables(models: ModelFigures[]): BenchTable[] {
  const [onnx, plain, served] = ENGINES;
  const load = Math.max(...models.map((m) => m.load));
  const figures: BenchTable = {
    title: `Scoring: onnxruntime-web vs the tree fast path's kernels (same run, same rows; median (min–max) of ${ROUNDS} rounds; 1-minute load ${load.toFixed(2)})`,
    columns: [
      'model',
      'engine',
      '1-row p50 µs',
      '1-row p99 µs',
      `batch-${BATCH} µs/row`,
      `batch-${BATCH} CPU µs/row`,
      'batch speed-up vs onnxruntime-web (wall / CPU)',
      '1-row p50 speed-up vs onnxruntime-web',
    ],
    rows: models.flatMap((m) =>
      ENGINES.map((e) => [
        m.name,
        e,
        withSpread(summarize(m.engines[e].p50)),
        withSpread(summarize(m.engines[e].p99)),
        withSpread(summarize(m.engines[e].batch), 3),
        withSpread(summarize(m.engines[e].cpu), 3),
        e === onnx
          ? '1'
          : `${withSpread(ratio(m.engines[onnx].batch, m.engines[e].batch))}× / ${withSpread(ratio(m.engines[onnx].cpu, m.engines[e].cpu))}×`,
        e === onnx ? '1' : `${withSpread(ratio(m.engines[onnx].p50, m.engines[e].p50))}×`,
      ]),
    ),
    notes: models.map((m) => {
      const ns = (summarize(m.engines[served].batch).median * 1000) / m.steps;
      return `${m.name}: ${m.steps} node steps per row (Σ tree depths; every row takes each tree's depth in steps) → ${ns.toFixed(2)} ns per step in the wasm kernel; wasm vs plain TS kernel, batch: ${withSpread(ratio(m.engines[plain].batch, m.engines[served].batch))}× wall, ${withSpread(ratio(m.engines[plain].cpu, m.engines[served].cpu))}× CPU, 1-row p50: ${withSpread(ratio(m.engines[plain].p50, m.engines[served].p50))}×.`;
    }),
  };
  const goals: Array<[Goal, Rounds, string]> = [];
  for (const m of models) {
    goals.push([
      {
        kind: 'ratio',
        text: `${m.name}: batch ≥ 3× onnxruntime-web (CPU time)`,
        target: 3,
        better: 'higher',
      },
      ratio(m.engines[onnx].cpu, m.engines[served].cpu),
      '×',
    ]);
    goals.push([
      { kind: 'ratio', text: `${m.name}: 1-row p50 ≥ 3× onnxruntime-web`, target: 3, better: 'higher' },
      ratio(m.engines[onnx].p50, m.engines[served].p50),
      '×',
    ]);
    goals.push([
      { kind: 'absolute', text: `${m.name}: 1-row p99 ≤ 20 µs`, target: 20, better: 'lower' },
      summarize(m.engines[served].p99),
      'µs',
    ]);
  }
  const ten = models[models.length - 1];
  goals.push([
    { kind: 'absolute', text: `${ten.name}: batch ≤ 1 µs/row`, target: 1, better: 'lower' },
    summarize(ten.engines[served].batch),
    'µs/row',
  ]);
  return [
    figures,
    {
      title: 'Scoring goals (served kernel; ratios judged at any load, times only at load ≤ 1.5)',
      columns: GOAL_COLUMNS,
      rows: goals.map(([goal, measured, unit]) => goalRow(goal, measured, load, unit)),
    },
  ];
}

export const run: BenchModule = async () => {
  const defaultPkg = await readPackageDir(path.join(ROOT, 'models/default'));
  const speed = scoringTables([
    await measureModel('default (5 feat)', defaultPkg),
    await measureModel('10 feat × 100 trees', tenFeatureModel()),
  ]);
  return speed;
};
