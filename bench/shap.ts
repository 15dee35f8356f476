/**
 * Explanation cost: exact TreeSHAP per row (the leaf-pattern tables the explain
 * path uses) against the paper's Algorithm 2 measured in the same process, in
 * alternating rounds, next to brute-force Shapley enumeration and a
 * Kernel-SHAP-style budget of model evaluations (SageMaker Clarify's default:
 * 2M + 2048 evaluations per record at M features).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { withCovers } from '#core/shap/covers.ts';
import { createTreeShap, treeShap, treeShapReference, treeShapStats } from '#core/shap/treeshap.ts';
import type { TreeEnsemble } from '#core/trees.ts';
import { bruteForceShap, rng } from '../test/unit/shap/helpers.ts';
import { GOAL_COLUMNS, type Goal, goalRow, loadNow, summarize, withSpread } from './judge.ts';
import type { BenchModule } from './types.ts';

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Per-call wall time in µs (p50, p99) of `fn(i)` over `n` calls, after `warmup` calls. */
function timeCalls(n: number, warmup: number, fn: (i: number) => void): { p50: number; p99: number } {
  for (let i = 0; i < warmup; i++) fn(i);
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    us.push((performance.now() - t0) * 1000);
  }
  us.sort((a, b) => a - b);
  return { p50: quantile(us, 0.5), p99: quantile(us, 0.99) };
}

/** Ten correlated-ish infrastructure-like features with 2% injected outliers. */
function syntheticData(n: number, nFeatures: number, seed: number): Float64Array[] {
  const r = rng(seed);
  const cols = Array.from({ length: nFeatures }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const load = r();
    const outlier = r() < 0.02;
    for (let f = 0; f < nFeatures; f++) {
      const v = 50 * load + 20 * r() + f;
      cols[f][i] = outlier && f % 3 === 0 ? v * (2 + r()) : v;
    }
  }
  return cols;
}

const rowsOf = (cols: Float64Array[], n: number): Float64Array[] =>
  Array.from({ length: n }, (_, i) => Float64Array.from(cols, (c) => c[i]));

const fmt = (v: number): number => Math.round(v * 10) / 10;

function loadDefaultModel(): { t: TreeEnsemble; rows: Float64Array[] } | null {
  try {
    const dir = fileURLToPath(new URL('../models/default/', import.meta.url));
    const manifest = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as {
      features: string[];
      reference: { features: Record<string, { sample: number[] }> };
    };
    const columns = manifest.features.map((f) => manifest.reference.features[f].sample);
    let t = parseOnnx(readFileSync(`${dir}model.onnx`)).ensemble;
    if (Number.isNaN(t.cover[t.roots[0]])) t = withCovers(t, { columns });
    return {
      t,
      rows: rowsOf(
        columns.map((c) => Float64Array.from(c)),
        Math.min(500, columns[0].length),
      ),
    };
  } catch {
    return null;
  }
}

/**
 * `rounds` alternating rounds of the pattern-table TreeSHAP and Algorithm 2 on the same rows:
 * per round the p50 (and p99) of per-call µs of each, and the ratio of the two p50s.
 */
function sideBySide(
  t: TreeEnsemble,
  rows: Float64Array[],
  nRounds: number,
): {
  fast: ReturnType<typeof summarize>;
  fastP99: ReturnType<typeof summarize>;
  ref: ReturnType<typeof summarize>;
  refP99: ReturnType<typeof summarize>;
  ratio: ReturnType<typeof summarize>;
  load: number;
} {
  const out = new Float64Array(t.nFeatures);
  const f50: number[] = [];
  const f99: number[] = [];
  const r50: number[] = [];
  const r99: number[] = [];
  const ratio: number[] = [];
  let load = loadNow();
  for (let k = 0; k < nRounds; k++) {
    const f = timeCalls(1000, k === 0 ? 300 : 50, (i) => treeShap(t, rows[(i + k * 37) % rows.length], out));
    const r = timeCalls(200, k === 0 ? 50 : 10, (i) =>
      treeShapReference(t, rows[(i + k * 37) % rows.length], out),
    );
    f50.push(f.p50);
    f99.push(f.p99);
    r50.push(r.p50);
    r99.push(r.p99);
    ratio.push(r.p50 / f.p50);
    load = Math.max(load, loadNow());
  }
  return {
    fast: summarize(f50),
    fastP99: summarize(f99),
    ref: summarize(r50),
    refP99: summarize(r99),
    ratio: summarize(ratio),
    load,
  };
}

export const run: BenchModule = async () => {
  const M = 10;
  const data = syntheticData(20_000, M, 7);
  const { ensemble: forest } = trainIsolationForest(data, { nEstimators: 100, maxSamples: 256, seed: 1 });
  const rows = rowsOf(data, 1000);
  const nodesPerTree = Math.round(forest.feature.length / forest.roots.length);

  // Precomputation: build time of a fresh copy (the cached one is built by the first call).
  const t0 = performance.now();
  createTreeShap(forest, {});
  const buildMs = performance.now() - t0;
  const stats = treeShapStats(forest);

  const ROUNDS = 7;
  const side = sideBySide(forest, rows, ROUNDS);
  const tree = { p50: side.fast.median, p99: side.fastP99.median };
  const tableRows: Array<Array<string | number>> = [
    [
      'TreeSHAP, leaf-pattern tables (exact; the explain path)',
      `IF 10 features, 100 trees, ψ=256 (${nodesPerTree} nodes/tree)`,
      withSpread(side.fast, 1),
      withSpread(side.fastP99, 1),
      1,
      `${withSpread(side.ratio)}× Algorithm 2`,
    ],
    [
      'TreeSHAP, Algorithm 2 (exact; the reference)',
      'same IF',
      withSpread(side.ref, 1),
      withSpread(side.refP99, 1),
      fmt(side.ref.median / tree.p50),
      '',
    ],
  ];

  const def = loadDefaultModel();
  let defSide: ReturnType<typeof sideBySide> | null = null;
  if (def) {
    defSide = sideBySide(def.t, def.rows, ROUNDS);
    tableRows.push([
      'TreeSHAP, leaf-pattern tables',
      `models/default (${def.t.nFeatures} features, ${def.t.roots.length} trees)`,
      withSpread(defSide.fast, 1),
      withSpread(defSide.fastP99, 1),
      '',
      `${withSpread(defSide.ratio)}× Algorithm 2 (${withSpread(defSide.ref, 1)} µs)`,
    ]);
  }

  // Brute force enumerates 2^10 coalitions × every tree: a few rows are enough.
  const brute = timeCalls(5, 1, (i) => bruteForceShap(forest, rows[i]));
  tableRows.push([
    'brute-force Shapley (2^M coalitions, test reference)',
    'same IF, M = 10 (1024 coalitions)',
    fmt(brute.p50),
    fmt(brute.p99),
    fmt(brute.p50 / tree.p50),
    '',
  ]);

  // Kernel SHAP as Clarify runs it by default: 2M + 2048 model evaluations per record.
  const evals = 2 * M + 2048;
  const scorer = new TreeScorer(forest);
  const one = new Float64Array(1);
  const single = rows.map((x) => Float32Array.from(x));
  const kernelSingle = timeCalls(40, 5, (i) => {
    for (let k = 0; k < evals; k++) scorer.predictRaw(single[(i + k) % single.length], 1, one);
  });
  tableRows.push([
    `Kernel-SHAP budget: ${evals} single-row evaluations of the fast-path scorer`,
    'same IF',
    fmt(kernelSingle.p50),
    fmt(kernelSingle.p99),
    fmt(kernelSingle.p50 / tree.p50),
    'model evaluations only; no regression solve',
  ]);
  const batch = new Float32Array(evals * M);
  for (let k = 0; k < evals; k++) batch.set(single[k % single.length], k * M);
  const batchOut = new Float64Array(evals);
  const kernelBatch = timeCalls(40, 5, () => scorer.predictRaw(batch, evals, batchOut));
  tableRows.push([
    `Kernel-SHAP budget: one batch of ${evals} rows through the fast-path scorer`,
    'same IF',
    fmt(kernelBatch.p50),
    fmt(kernelBatch.p99),
    fmt(kernelBatch.p50 / tree.p50),
    'lower bound for Kernel SHAP; still approximate',
  ]);

  // The goal is ≤ 100 µs/row; as a ratio against Algorithm 2 (≈ 1,000 µs/row when it was set) that is ≥ 10×.
  const absolute: Goal = {
    kind: 'absolute',
    text: 'TreeSHAP ≤ 100 µs/row p50',
    target: 100,
    better: 'lower',
  };
  const speedup: Goal = {
    kind: 'ratio',
    text: 'TreeSHAP ≥ 10× Algorithm 2 (same goal as a ratio)',
    target: 10,
    better: 'higher',
  };
  return [
    {
      title: 'Explain: TreeSHAP goal (10-feature, 100-tree, ψ=256 isolation forest)',
      columns: [...GOAL_COLUMNS],
      rows: [goalRow(absolute, side.fast, side.load, 'µs'), goalRow(speedup, side.ratio, side.load, '×')],
      notes: [
        `${ROUNDS} alternating rounds in one process: 1,000 calls of the leaf-pattern TreeSHAP, then 200 of Algorithm 2, per round; p50 of each, ratio per round.`,
        `Precomputation: ${stats?.tableEntries ?? 0} table entries over ${stats?.tableLeaves ?? 0} of ${stats?.leaves ?? 0} leaves, ${((stats?.bytes ?? 0) / 2 ** 20).toFixed(2)} MB with the node layout, built in ${buildMs.toFixed(0)} ms (once per loaded model).`,
        ...(defSide && def
          ? [
              `models/default: ${treeShapStats(def.t)?.tableEntries ?? 0} table entries, ${((treeShapStats(def.t)?.bytes ?? 0) / 2 ** 20).toFixed(2)} MB.`,
            ]
          : []),
      ],
    },
    {
      title: 'Explain: µs per explained row',
      columns: ['method', 'model', 'p50 µs', 'p99 µs', '× TreeSHAP p50', 'note'],
      rows: tableRows,
      notes: [
        'p50/p99 columns of the TreeSHAP rows: median (min–max) over the rounds above.',
        'The isolation forest is trained by lambdas/core/forest/train.ts on 20,000 synthetic rows (seed 7).',
        `Kernel-SHAP cost = 2M + 2048 = ${evals} evaluations per record (SageMaker Clarify default) at M = ${M}.`,
        'Brute force is the independent reference used by the tests (test/unit/shap/helpers.ts).',
      ],
    },
  ];
};
