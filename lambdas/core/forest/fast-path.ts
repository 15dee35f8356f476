import { goesTrue, NodeMode, type TreeEnsemble } from '../trees.ts';

/**
 * The tree fast path: walks the parsed ONNX trees directly over flat typed
 * arrays. Agrees with onnxruntime-web within 1e-5 (checked by a test) because
 * both compare float32 inputs against float32 thresholds.
 *
 * For ensembles whose splits are all `x <= t` (Vigil's forests, scikit-learn's
 * trees) it walks level by level: leaves loop to themselves (threshold +∞),
 * so every row takes exactly `depth(tree)` branch-free steps — children sit
 * side by side and the comparison picks the slot — and all rows of a batch
 * advance one level together. The rows are independent, so the CPU overlaps
 * their memory loads instead of waiting on one row's chain of loads. Rows
 * with NaN take the general walk, which honours `missingTracksTrue`.
 */
export class TreeScorer {
  private readonly t: TreeEnsemble;
  private readonly nTrees: number;
  private readonly allLeq: boolean;
  /** Split feature per node, -1 for leaves. */
  private readonly feat: Int32Array;
  /** float32 thresholds, as ONNX stores them (leaves: +∞). */
  private readonly thr: Float32Array;
  /** kids[2n] = child when `x <= thr`, kids[2n+1] = child otherwise. */
  private readonly kids: Int32Array;
  private readonly leaf: Float64Array;
  private readonly aggregate: number;
  /** Depth (edges on the longest root-leaf path) per tree. */
  private readonly depth: Int32Array;
  private cur = new Int32Array(0);

  constructor(t: TreeEnsemble) {
    this.t = t;
    this.nTrees = t.roots.length;
    const n = t.feature.length;
    this.feat = Int32Array.from(t.feature);
    this.thr = Float32Array.from(t.threshold);
    this.kids = new Int32Array(2 * n);
    let allLeq = true;
    for (let i = 0; i < n; i++) {
      this.kids[2 * i] = t.trueChild[i];
      this.kids[2 * i + 1] = t.falseChild[i];
      if (t.mode[i] !== NodeMode.LEAF && t.mode[i] !== NodeMode.BRANCH_LEQ) allLeq = false;
    }
    this.allLeq = allLeq;
    for (let i = 0; i < n; i++) {
      if (t.mode[i] === NodeMode.LEAF) {
        // A leaf steps to itself: x <= +∞ always holds for finite x.
        this.feat[i] = 0;
        this.thr[i] = Number.POSITIVE_INFINITY;
        this.kids[2 * i] = i;
        this.kids[2 * i + 1] = i;
      }
    }
    this.depth = Int32Array.from(t.roots, (root) => treeDepth(t, root));
    this.leaf = Float64Array.from(t.value);
    this.aggregate = { SUM: 0, AVERAGE: 1, MIN: 2, MAX: 3 }[t.aggregate];
  }

  get nFeatures(): number {
    return this.t.nFeatures;
  }

  /**
   * Raw ensemble output for each row of a row-major matrix (`rows × nFeatures`).
   * Values are compared as float32, like onnxruntime (a Float32Array is ideal).
   */
  predictRaw(x: ArrayLike<number>, rows: number, out = new Float64Array(rows)): Float64Array {
    if (this.allLeq && this.aggregate <= 1 && !hasNaN(x, rows * this.t.nFeatures)) {
      this.sumLeq(x, rows, out);
    } else {
      for (let r = 0; r < rows; r++) out[r] = this.general(x, r * this.t.nFeatures);
    }
    if (this.aggregate === 1) for (let r = 0; r < rows; r++) out[r] /= this.nTrees;
    const base = this.t.base;
    if (base !== 0 || this.aggregate > 1) {
      if (this.aggregate <= 1) for (let r = 0; r < rows; r++) out[r] += base;
    }
    return out;
  }

  /** Σ over trees of leaf values: tree-major, level by level, branch-free. */
  private sumLeq(x: ArrayLike<number>, rows: number, out: Float64Array): void {
    const { feat, thr, kids, leaf, depth } = this;
    const roots = this.t.roots;
    const nf = this.t.nFeatures;
    if (this.cur.length < rows) this.cur = new Int32Array(rows);
    const cur = this.cur;
    out.fill(0, 0, rows);
    for (let k = 0; k < roots.length; k++) {
      cur.fill(roots[k], 0, rows);
      for (let d = depth[k]; d > 0; d--) {
        for (let r = 0, off = 0; r < rows; r++, off += nf) {
          const n = cur[r];
          // `+(a > b)` compiles to a flag move, not a branch.
          cur[r] = kids[(n << 1) | +(x[off + feat[n]] > thr[n])];
        }
      }
      for (let r = 0; r < rows; r++) out[r] += leaf[cur[r]];
    }
  }

  /** Any mode, NaN-aware, any aggregate; `base` added here for MIN/MAX. */
  private general(x: ArrayLike<number>, off: number): number {
    const t = this.t;
    let acc =
      this.aggregate === 2 ? Number.POSITIVE_INFINITY : this.aggregate === 3 ? Number.NEGATIVE_INFINITY : 0;
    for (let k = 0; k < this.nTrees; k++) {
      let n = t.roots[k];
      while (t.feature[n] >= 0) n = goesTrue(t, n, x[off + t.feature[n]]) ? t.trueChild[n] : t.falseChild[n];
      const v = this.leaf[n];
      if (this.aggregate === 2) acc = Math.min(acc, v);
      else if (this.aggregate === 3) acc = Math.max(acc, v);
      else acc += v;
    }
    return this.aggregate > 1 ? acc + t.base : acc;
  }
}

function treeDepth(t: TreeEnsemble, root: number): number {
  let max = 0;
  const stack: Array<[number, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [n, d] = stack.pop() as [number, number];
    if (t.feature[n] < 0) max = Math.max(max, d);
    else stack.push([t.trueChild[n], d + 1], [t.falseChild[n], d + 1]);
  }
  return max;
}

function hasNaN(x: ArrayLike<number>, n: number): boolean {
  for (let i = 0; i < n; i++) if (Number.isNaN(x[i])) return true;
  return false;
}
