import { type Aggregate, NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { averagePathLength } from './isolation.ts';
import { Rng } from './rng.ts';

export interface IsolationForestOptions {
  /** Number of trees. @default 100 */
  readonly nEstimators?: number;
  /** Rows drawn (without replacement) per tree, ψ. @default min(256, n) */
  readonly maxSamples?: number;
  /** RNG seed; the same data and seed give the same forest. @default 42 */
  readonly seed?: number;
  /** Called after each tree (for progress bars). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface TrainedForest {
  readonly ensemble: TreeEnsemble;
  /** The ψ actually used (min(maxSamples, n)). */
  readonly psi: number;
  readonly nEstimators: number;
  readonly seed: number;
}

/**
 * Trains an isolation forest (Liu, Ting & Zhou 2008) in the shape scikit-learn
 * uses: each tree sees ψ rows drawn without replacement, grows to height
 * ⌈log2 ψ⌉, splits on a uniformly chosen non-constant feature at a uniform
 * threshold in [min, max), and a leaf holding k rows at depth d outputs
 * d + c(k). The ensemble AVERAGEs the trees, so its output is E[h(x)].
 *
 * Inputs are rounded to float32 (as scikit-learn and ONNX do) so training,
 * the exported graph and the fast path route every row the same way. Splits
 * are `x <= threshold` (BRANCH_LEQ). Node covers are the training counts.
 *
 * @param columns column-major data: one array per feature, equal lengths.
 */
export function trainIsolationForest(
  columns: ReadonlyArray<ArrayLike<number>>,
  opts: IsolationForestOptions = {},
): TrainedForest {
  const nFeatures = columns.length;
  if (nFeatures === 0) throw new Error('trainIsolationForest: at least one feature is required');
  const n = columns[0].length;
  for (const c of columns) {
    if (c.length !== n) throw new Error('trainIsolationForest: all columns must have the same length');
  }
  if (n < 2) throw new Error('trainIsolationForest: at least 2 rows are required');
  const nEstimators = opts.nEstimators ?? 100;
  const seed = opts.seed ?? 42;
  const psi = Math.min(opts.maxSamples ?? 256, n);
  if (!Number.isInteger(nEstimators) || nEstimators < 1)
    throw new Error('nEstimators must be a positive integer');
  if (!Number.isInteger(psi) || psi < 2) throw new Error('maxSamples must be an integer ≥ 2');

  const data = columns.map((c) => {
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = c[i];
      if (!Number.isFinite(v)) throw new Error(`trainIsolationForest: non-finite value at row ${i}`);
      f[i] = v;
    }
    return f;
  });
  const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
  const rng = new Rng(seed);
  const b = new EnsembleBuilder();
  const pool = new Int32Array(n);
  for (let t = 0; t < nEstimators; t++) {
    for (let i = 0; i < n; i++) pool[i] = i;
    // Partial Fisher-Yates: the first ψ entries are a sample without replacement.
    for (let i = 0; i < psi; i++) {
      const j = i + rng.int(n - i);
      const tmp = pool[i];
      pool[i] = pool[j];
      pool[j] = tmp;
    }
    const rows = pool.slice(0, psi);
    b.roots.push(b.size);
    growTree(b, data, rows, 0, maxDepth, rng);
    opts.onProgress?.(t + 1, nEstimators);
  }
  return { ensemble: b.build(nFeatures, 'AVERAGE', 0), psi, nEstimators, seed };
}

/** Grows one node (and its subtree) over `rows`; returns the node index. */
function growTree(
  b: EnsembleBuilder,
  data: Float32Array[],
  rows: Int32Array,
  depth: number,
  maxDepth: number,
  rng: Rng,
): number {
  const node = b.add();
  b.cover[node] = rows.length;
  if (depth >= maxDepth || rows.length <= 1) {
    b.value[node] = depth + averagePathLength(rows.length);
    return node;
  }
  // Candidate features: those not constant on this node's rows.
  const nf = data.length;
  const lo = new Float64Array(nf);
  const hi = new Float64Array(nf);
  const candidates: number[] = [];
  for (let f = 0; f < nf; f++) {
    const col = data[f];
    let mn = col[rows[0]];
    let mx = mn;
    for (let i = 1; i < rows.length; i++) {
      const v = col[rows[i]];
      if (v < mn) mn = v;
      else if (v > mx) mx = v;
    }
    lo[f] = mn;
    hi[f] = mx;
    if (mx > mn) candidates.push(f);
  }
  if (candidates.length === 0) {
    b.value[node] = depth + averagePathLength(rows.length);
    return node;
  }
  const f = candidates[rng.int(candidates.length)];
  let threshold = Math.fround(lo[f] + rng.next() * (hi[f] - lo[f]));
  // float32 rounding may reach max; min keeps both sides non-empty.
  if (threshold >= hi[f]) threshold = lo[f];
  const col = data[f];
  let nLeft = 0;
  for (let i = 0; i < rows.length; i++) if (col[rows[i]] <= threshold) nLeft++;
  const left = new Int32Array(nLeft);
  const right = new Int32Array(rows.length - nLeft);
  let li = 0;
  let ri = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (col[r] <= threshold) left[li++] = r;
    else right[ri++] = r;
  }
  b.feature[node] = f;
  b.threshold[node] = threshold;
  b.mode[node] = NodeMode.BRANCH_LEQ;
  b.trueChild[node] = growTree(b, data, left, depth + 1, maxDepth, rng);
  b.falseChild[node] = growTree(b, data, right, depth + 1, maxDepth, rng);
  return node;
}

/** Growable node arrays; `build` freezes them into a TreeEnsemble. */
export class EnsembleBuilder {
  readonly roots: number[] = [];
  feature: number[] = [];
  threshold: number[] = [];
  mode: number[] = [];
  trueChild: number[] = [];
  falseChild: number[] = [];
  missingTracksTrue: number[] = [];
  value: number[] = [];
  cover: number[] = [];

  get size(): number {
    return this.feature.length;
  }

  /** Appends a leaf node with value 0 and unknown cover; returns its index. */
  add(): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.mode.push(NodeMode.LEAF);
    this.trueChild.push(-1);
    this.falseChild.push(-1);
    this.missingTracksTrue.push(0);
    this.value.push(0);
    this.cover.push(Number.NaN);
    return this.feature.length - 1;
  }

  build(nFeatures: number, aggregate: Aggregate, base: number): TreeEnsemble {
    return {
      nFeatures,
      roots: Int32Array.from(this.roots),
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      mode: Uint8Array.from(this.mode),
      trueChild: Int32Array.from(this.trueChild),
      falseChild: Int32Array.from(this.falseChild),
      missingTracksTrue: Uint8Array.from(this.missingTracksTrue),
      value: Float64Array.from(this.value),
      cover: Float64Array.from(this.cover),
      aggregate,
      base,
    };
  }
}
