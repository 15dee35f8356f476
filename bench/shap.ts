/**
 * Explanation cost: exact TreeSHAP per row, next to brute-force Shapley
 * enumeration and a Kernel-SHAP-style budget of model evaluations
 * (SageMaker Clarify's default: 2M + 2048 evaluations per record at M features).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { withCovers } from '#core/shap/covers.ts';
import { treeShap } from '#core/shap/treeshap.ts';
import type { TreeEnsemble } from '#core/trees.ts';
import { bruteForceShap, rng } from '../test/unit/shap/helpers.ts';
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

export const run: BenchModule = async () => {
  const M = 10;
  const data = syntheticData(20_000, M, 7);
  const { ensemble: forest } = trainIsolationForest(data, { nEstimators: 100, maxSamples: 256, seed: 1 });
  const rows = rowsOf(data, 1000);
  const nodesPerTree = Math.round(forest.feature.length / forest.roots.length);
  const phi = new Float64Array(M);

  const tree = timeCalls(2000, 300, (i) => treeShap(forest, rows[i % rows.length], phi));
  const tableRows: Array<Array<string | number>> = [
    [
      `TreeSHAP (exact, path-dependent)`,
      `IF 10 features, 100 trees, ψ=256 (${nodesPerTree} nodes/tree)`,
      fmt(tree.p50),
      fmt(tree.p99),
      1,
      tree.p50 <= 1000 ? 'meets ≤ 1000 µs' : 'misses ≤ 1000 µs',
    ],
  ];

  const def = loadDefaultModel();
  if (def) {
    const out = new Float64Array(def.t.nFeatures);
    const d = timeCalls(2000, 300, (i) => treeShap(def.t, def.rows[i % def.rows.length], out));
    tableRows.push([
      'TreeSHAP (exact, path-dependent)',
      `models/default (${def.t.nFeatures} features, ${def.t.roots.length} trees)`,
      fmt(d.p50),
      fmt(d.p99),
      '',
      '',
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

  return [
    {
      title: 'Explain: µs per explained row',
      columns: ['method', 'model', 'p50 µs', 'p99 µs', '× TreeSHAP p50', 'note'],
      rows: tableRows,
      notes: [
        'Target: TreeSHAP ≤ 1000 µs per row p50 on the 10-feature, 100-tree, ψ=256 isolation forest.',
        'The isolation forest is trained by lambdas/core/forest/train.ts on 20,000 synthetic rows (seed 7).',
        `Kernel-SHAP cost = 2M + 2048 = ${evals} evaluations per record (SageMaker Clarify default) at M = ${M}.`,
        'Brute force is the independent reference used by the tests (test/unit/shap/helpers.ts).',
      ],
    },
  ];
};
