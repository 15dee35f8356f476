import { Rng } from '#core/forest/rng.ts';
import { EnsembleBuilder } from '#core/forest/train.ts';
import { type Aggregate, NodeMode, type TreeEnsemble } from '#core/trees.ts';

/** Every split mode the parser and the fast path support. */
export const ALL_BRANCH_MODES = [
  NodeMode.BRANCH_LEQ,
  NodeMode.BRANCH_LT,
  NodeMode.BRANCH_GTE,
  NodeMode.BRANCH_GT,
  NodeMode.BRANCH_EQ,
  NodeMode.BRANCH_NEQ,
];

/**
 * Random tree ensembles with every split mode, for testing the parser, the
 * fast path and onnxruntime-web agreement beyond what the trainer produces.
 */
export function randomEnsemble(opts: {
  seed: number;
  nFeatures: number;
  nTrees: number;
  maxDepth: number;
  modes?: number[];
  aggregate?: Aggregate;
  base?: number;
  covers?: boolean;
}): TreeEnsemble {
  const rng = new Rng(opts.seed);
  const modes = opts.modes ?? [NodeMode.BRANCH_LEQ];
  const b = new EnsembleBuilder();
  const grow = (depth: number): number => {
    const n = b.add();
    b.cover[n] = opts.covers === false ? Number.NaN : 1 + rng.int(100);
    if (depth >= opts.maxDepth || (depth > 0 && rng.next() < 0.25)) {
      b.value[n] = Math.fround(rng.normal() * 3);
      return n;
    }
    b.feature[n] = rng.int(opts.nFeatures);
    b.mode[n] = modes[rng.int(modes.length)];
    // Thresholds on a coarse grid so EQ/NEQ splits are hit by grid inputs.
    b.threshold[n] = Math.fround(Math.round(rng.normal() * 4) / 2);
    b.missingTracksTrue[n] = rng.int(2);
    b.trueChild[n] = grow(depth + 1);
    b.falseChild[n] = grow(depth + 1);
    return n;
  };
  for (let t = 0; t < opts.nTrees; t++) b.roots.push(grow(0));
  return b.build(opts.nFeatures, opts.aggregate ?? 'SUM', opts.base ?? 0);
}

/** Rows on a half-unit grid (to exercise equality splits) plus noise rows; `nanShare` of values NaN. */
export function gridRows(seed: number, rows: number, nFeatures: number, nanShare = 0): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(rows * nFeatures);
  for (let i = 0; i < x.length; i++) {
    x[i] = rng.next() < 0.5 ? Math.round(rng.normal() * 4) / 2 : rng.normal() * 2;
    if (nanShare > 0 && rng.next() < nanShare) x[i] = Number.NaN;
  }
  return x;
}

/** Reference walk written independently of the fast path: recursion + explicit mode table. */
export function referencePredict(t: TreeEnsemble, row: ArrayLike<number>): number {
  const cmp: Record<number, (a: number, b: number) => boolean> = {
    [NodeMode.BRANCH_LEQ]: (a, b) => a <= b,
    [NodeMode.BRANCH_LT]: (a, b) => a < b,
    [NodeMode.BRANCH_GTE]: (a, b) => a >= b,
    [NodeMode.BRANCH_GT]: (a, b) => a > b,
    [NodeMode.BRANCH_EQ]: (a, b) => a === b,
    [NodeMode.BRANCH_NEQ]: (a, b) => a !== b,
  };
  const walk = (n: number): number => {
    if (t.mode[n] === NodeMode.LEAF) return t.value[n];
    const v = row[t.feature[n]];
    // onnxruntime: NaN goes true when missingTracksTrue, else is compared (only NEQ holds).
    const go =
      Number.isNaN(v) && t.missingTracksTrue[n] === 1 ? true : cmp[t.mode[n]](Math.fround(v), t.threshold[n]);
    return walk(go ? t.trueChild[n] : t.falseChild[n]);
  };
  const outs = Array.from(t.roots, walk);
  const sum = outs.reduce((a, b) => a + b, 0);
  const agg =
    t.aggregate === 'AVERAGE'
      ? sum / outs.length
      : t.aggregate === 'MIN'
        ? Math.min(...outs)
        : t.aggregate === 'MAX'
          ? Math.max(...outs)
          : sum;
  return agg + t.base;
}
