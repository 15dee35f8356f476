import { goesTrue, NodeMode, type TreeEnsemble } from '#core/trees.ts';

/** Raw ensemble output for row-major rows: what the fast path's kernels have in common. */
export interface RawScorer {
  readonly nFeatures: number;
  /** Raw output per row of a row-major matrix (`rows × nFeatures`); see `TreeScorer.predictRaw`. */
  predictRaw(input: ArrayLike<number>, rows: number, out?: Float64Array): Float64Array;
}

/**
 * The tree fast path in plain TypeScript — the reference every faster kernel is tested
 * against (`wasm-kernel.ts` must equal it bit for bit) and the kernel of the `vigil/edge`
 * entry. It walks the parsed ONNX trees directly over flat typed
 * arrays. It takes the same branch as onnxruntime-web on every row because both
 * compare inputs of the graph's type (float32, or float64 for a tensor(double)
 * graph) against the same stored thresholds; outputs differ only by summation
 * rounding (leaf values summed in float64 here, float32 in onnxruntime), within
 * 1e-6 of the output's scale (checked by tests on every fixture model).
 *
 * For ensembles whose splits are all `x <= t` (Vigil's forests, scikit-learn's
 * trees) leaves loop to themselves (threshold +∞), so every row takes exactly
 * `depth(tree)` branch-free steps — children sit side by side and the
 * comparison picks the slot — and four rows walk a tree together. The rows
 * are independent, so the CPU overlaps their memory loads instead of waiting
 * on one row's chain of loads (a one-row-at-a-time walk was load-latency
 * bound at ~8 ns per node). Rows with NaN take the general walk, which
 * honours `missingTracksTrue`.
 */
export class TreeScorer implements RawScorer {
  private readonly t: TreeEnsemble;
  private readonly nTrees: number;
  private readonly allLeq: boolean;
  /**
   * One 16-byte record per node, so a step touches one cache line:
   * [threshold (float32), feature, child if x <= t, child otherwise] —
   * read through a Float32Array and an Int32Array view of the same buffer. A
   * tensor(double) graph keeps float64 thresholds in their own array instead.
   */
  private readonly nodeF: Float32Array | Float64Array;
  private readonly nodeI: Int32Array;
  private readonly leaf: Float64Array;
  private readonly aggregate: number;
  /** Depth (edges on the longest root-leaf path) per tree: the steps every row takes in it. */
  readonly depth: Int32Array;

  constructor(t: TreeEnsemble) {
    this.t = t;
    this.nTrees = t.roots.length;
    const n = t.feature.length;
    const buf = new ArrayBuffer(16 * n);
    this.nodeF = t.doubleInput ? new Float64Array(4 * n) : new Float32Array(buf);
    this.nodeI = new Int32Array(buf);
    let allLeq = true;
    for (let i = 0; i < n; i++) {
      const leaf = t.mode[i] === NodeMode.LEAF;
      if (!leaf && t.mode[i] !== NodeMode.BRANCH_LEQ) allLeq = false;
      // A leaf steps to itself: x <= +∞ always holds for finite x.
      this.nodeF[4 * i] = leaf ? Number.POSITIVE_INFINITY : t.threshold[i];
      this.nodeI[4 * i + 1] = leaf ? 0 : t.feature[i];
      this.nodeI[4 * i + 2] = leaf ? i : t.trueChild[i];
      this.nodeI[4 * i + 3] = leaf ? i : t.falseChild[i];
    }
    this.allLeq = allLeq;
    this.depth = Int32Array.from(t.roots, (root) => treeDepth(t, root));
    this.leaf = Float64Array.from(t.value);
    this.aggregate = { SUM: 0, AVERAGE: 1, MIN: 2, MAX: 3 }[t.aggregate];
  }

  get nFeatures(): number {
    return this.t.nFeatures;
  }

  /**
   * Raw ensemble output for each row of a row-major matrix (`rows × nFeatures`).
   * Values are compared in the graph's input type, like onnxruntime: a float graph
   * rounds them to float32 first (a Float32Array is ideal), a double graph does not.
   */
  predictRaw(input: ArrayLike<number>, rows: number, out = new Float64Array(rows)): Float64Array {
    const x = this.t.doubleInput || input instanceof Float32Array ? input : Float32Array.from(input);
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

  /**
   * Σ over trees of leaf values: tree-major, `depth` branch-free steps per
   * row, four rows at a time in registers so their loads overlap.
   */
  private sumLeq(x: ArrayLike<number>, rows: number, out: Float64Array): void {
    const { nodeF: F, nodeI: I, leaf, depth } = this;
    const roots = this.t.roots;
    const nf = this.t.nFeatures;
    out.fill(0, 0, rows);
    for (let k = 0; k < roots.length; k++) {
      const root = roots[k];
      const dk = depth[k];
      let r = 0;
      let off = 0;
      for (; r + 4 <= rows; r += 4, off += 4 * nf) {
        let a = root;
        let b = root;
        let c = root;
        let d = root;
        const o1 = off + nf;
        const o2 = o1 + nf;
        const o3 = o2 + nf;
        for (let l = dk; l > 0; l--) {
          const a4 = a << 2;
          const b4 = b << 2;
          const c4 = c << 2;
          const d4 = d << 2;
          // `+(v > t)` compiles to a flag move, not a branch.
          a = I[a4 + 2 + +(x[off + I[a4 + 1]] > F[a4])];
          b = I[b4 + 2 + +(x[o1 + I[b4 + 1]] > F[b4])];
          c = I[c4 + 2 + +(x[o2 + I[c4 + 1]] > F[c4])];
          d = I[d4 + 2 + +(x[o3 + I[d4 + 1]] > F[d4])];
        }
        out[r] += leaf[a];
        out[r + 1] += leaf[b];
        out[r + 2] += leaf[c];
        out[r + 3] += leaf[d];
      }
      for (; r < rows; r++, off += nf) {
        let a = root;
        for (let l = dk; l > 0; l--) {
          const a4 = a << 2;
          a = I[a4 + 2 + +(x[off + I[a4 + 1]] > F[a4])];
        }
        out[r] += leaf[a];
      }
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
