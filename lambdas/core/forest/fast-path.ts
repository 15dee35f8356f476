import { goesTrue, NodeMode, type TreeEnsemble } from '../trees.ts';

/**
 * The tree fast path: walks the parsed ONNX trees directly over flat typed
 * arrays. Agrees with onnxruntime-web within 1e-5 (checked by a test) because
 * both compare float32 inputs against float32 thresholds.
 */
export class TreeScorer {
  private readonly t: TreeEnsemble;
  private readonly nTrees: number;
  /** All branch nodes are BRANCH_LEQ: the common case gets a branch-free inner loop. */
  private readonly allLeq: boolean;
  private readonly thr32: Float32Array;

  constructor(t: TreeEnsemble) {
    this.t = t;
    this.nTrees = t.roots.length;
    this.thr32 = Float32Array.from(t.threshold);
    let allLeq = true;
    for (let i = 0; i < t.mode.length; i++) {
      if (t.mode[i] !== NodeMode.LEAF && t.mode[i] !== NodeMode.BRANCH_LEQ) allLeq = false;
    }
    this.allLeq = allLeq;
  }

  get nFeatures(): number {
    return this.t.nFeatures;
  }

  /**
   * Raw ensemble output for each row of a row-major matrix (`rows × nFeatures`).
   * Values must already be float32-representable (a Float32Array is ideal).
   */
  predictRaw(x: ArrayLike<number>, rows: number, out = new Float64Array(rows)): Float64Array {
    const t = this.t;
    const nf = t.nFeatures;
    const { feature, trueChild, falseChild, value, roots } = t;
    const thr = this.thr32;
    for (let r = 0; r < rows; r++) {
      const off = r * nf;
      let acc =
        t.aggregate === 'MIN'
          ? Number.POSITIVE_INFINITY
          : t.aggregate === 'MAX'
            ? Number.NEGATIVE_INFINITY
            : 0;
      for (let k = 0; k < this.nTrees; k++) {
        let n = roots[k];
        if (this.allLeq) {
          let f = feature[n];
          while (f >= 0) {
            const v = x[off + f];
            // NaN fails `<=`; honour missingTracksTrue for it.
            n =
              v <= thr[n] || (Number.isNaN(v) && t.missingTracksTrue[n] === 1) ? trueChild[n] : falseChild[n];
            f = feature[n];
          }
        } else {
          while (feature[n] >= 0) {
            n = goesTrue(t, n, x[off + feature[n]]) ? trueChild[n] : falseChild[n];
          }
        }
        const v = value[n];
        if (t.aggregate === 'MIN') acc = Math.min(acc, v);
        else if (t.aggregate === 'MAX') acc = Math.max(acc, v);
        else acc += v;
      }
      out[r] = (t.aggregate === 'AVERAGE' ? acc / this.nTrees : acc) + t.base;
    }
    return out;
  }
}
