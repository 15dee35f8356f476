/**
 * The reference implementation: Algorithm 2 of Lundberg, Erion & Lee
 * ("Consistent individualized feature attribution for tree ensembles"), exact
 * path-dependent TreeSHAP in O(T·L·D²), over the flat `TreeEnsemble` arrays.
 *
 * `treeshap.ts` explains with the faster leaf-pattern tables (`leaf-patterns.ts`);
 * this class stays as an independent exact implementation of the same game:
 * the tests compare the two on models too wide for brute force, the bench
 * measures the speed-up against it in the same process, and models whose paths
 * hold more distinct features than a pattern mask has bits are explained with it.
 */
import { goesTrue, NodeMode, type TreeEnsemble } from '#core/trees.ts';

const EMPTY = new Float64Array(0);

/**
 * Algorithm 2 over one ensemble; holds its buffers (sized once, so a call allocates nothing).
 *
 * Representation. Algorithm 2 keeps, per unique path element i, a zero
 * fraction z_i and a one fraction o_i, and per path the "permutation weights"
 * — the coefficients of Π_i (z_i + o_i·y) scaled by Shapley weights. In the
 * path-dependent algorithm o_i is always 0 or 1, which this implementation
 * exploits: the product splits into Zc = Π_{cold, o=0} z_i (a number) times
 * Q(y) = Π_{hot, o=1} (z_i + y) (a polynomial over the hot elements only).
 * EXTEND multiplies Q by (z + y) for a hot element and Zc by z for a cold one
 * (O(1)); UNWIND divides them back. At a leaf with path length l, the
 * contribution of element j is v·(o_j − z_j)·Σ_k r_k·k!(l−1−k)!/l! with
 * r = the coefficients of Π_{i≠j}(z_i + o_i·y); for every cold element this
 * is the same number −v·Zc·W(Q), and for a hot one v·(1 − z_j)·Zc·W(Q/(z_j + y)).
 * The arithmetic is the paper's, organised so that cold elements (about half
 * of them) cost O(1) instead of O(l).
 *
 * Q polynomials are never modified in place: each new one is written at the
 * first free index of `q`, above every ancestor's, so a parent's Q survives
 * its children. Element descriptors live in shared arrays indexed by path
 * position; a node that unwinds a repeated feature shifts them back before
 * returning.
 */
export class Algorithm2 {
  /** Feature, zero fraction and hot flag (one fraction) per path position. */
  private readonly pf: Int32Array;
  private readonly pz: Float64Array;
  private readonly po: Uint8Array;
  /** Q coefficients (y^0 first) of every live recursion level. */
  private readonly q: Float64Array;
  /** gamma[l·(l−1)/2 + k] = k!(l−1−k)!/l!: the Shapley weight of a k-subset of l−1 other path features. */
  private readonly gamma: Float64Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly mode: Uint8Array;
  private readonly missingTracksTrue: Uint8Array;
  private readonly trueChild: Int32Array;
  private readonly falseChild: Int32Array;
  private readonly value: Float64Array;
  private readonly frac: Float64Array;
  private readonly t: TreeEnsemble;
  private phi: Float64Array = EMPTY;
  private x: ArrayLike<number> = EMPTY;
  private leafScale = 1;

  constructor(t: TreeEnsemble, frac: Float64Array, maxDepth: number) {
    // A path holds each feature at most once, so its length is ≤ min(depth, nFeatures).
    const l = Math.min(maxDepth, t.nFeatures) + 1;
    this.pf = new Int32Array(l + 1);
    this.pz = new Float64Array(l + 1);
    this.po = new Uint8Array(l + 1);
    // Each level writes at most two polynomials of degree ≤ l.
    this.q = new Float64Array((maxDepth + 2) * (2 * l + 4));
    this.gamma = new Float64Array(((l + 1) * l) / 2 + 1);
    for (let n = 1; n <= l; n++) {
      const base = (n * (n - 1)) / 2;
      let g = 1 / n;
      for (let k = 0; k < n; k++) {
        this.gamma[base + k] = g;
        g = (g * (k + 1)) / (n - 1 - k);
      }
    }
    this.t = t;
    this.feature = t.feature;
    this.threshold = t.threshold;
    this.mode = t.mode;
    this.missingTracksTrue = t.missingTracksTrue;
    this.trueChild = t.trueChild;
    this.falseChild = t.falseChild;
    this.value = t.value;
    this.frac = frac;
  }

  /** Adds the contributions of every tree (times `scale`) to `phi`. */
  run(x: ArrayLike<number>, phi: Float64Array, scale: number): void {
    this.x = x;
    this.phi = phi;
    this.leafScale = scale;
    const roots = this.t.roots;
    this.q[0] = 1;
    for (let r = 0; r < roots.length; r++) this.recurse(roots[r], 0, 0, 0, 1, 1);
    // Drop the caller's buffers so the cache does not keep them alive.
    this.x = EMPTY;
    this.phi = EMPTY;
  }

  /** The split of `node` for this row; float32 BRANCH_LEQ (what Vigil trains) inlined, the rest via `goesTrue`. */
  private goesTrue(node: number, v: number): boolean {
    if (this.mode[node] !== NodeMode.BRANCH_LEQ || this.t.doubleInput) return goesTrue(this.t, node, v);
    if (Number.isNaN(v)) return this.missingTracksTrue[node] === 1;
    return Math.fround(v) <= this.threshold[node];
  }

  /**
   * Visits `node` with a path of `d` unique elements (descriptors at
   * positions 0..d−1), hot polynomial Q of degree `h` at `qOff`, first free
   * index `free` in `q`, and cold product `zc`.
   */
  private recurse(node: number, d: number, h: number, qOff: number, free: number, zc: number): void {
    const pf = this.pf;
    const pz = this.pz;
    const po = this.po;
    const q = this.q;

    if (this.trueChild[node] < 0) {
      const v = this.value[node] * this.leafScale;
      if (v === 0 || d === 0) return;
      const phi = this.phi;
      const gamma = this.gamma;
      const g = (d * (d - 1)) / 2;
      let coldTerm = 0;
      let haveCold = false;
      for (let i = 0; i < d; i++) {
        if (po[i] === 0) {
          if (!haveCold) {
            let w = 0;
            for (let k = 0; k <= h; k++) w += q[qOff + k] * gamma[g + k];
            coldTerm = -v * zc * w;
            haveCold = true;
          }
          phi[pf[i]] += coldTerm;
        } else {
          // W(Q / (z + y)) by synthetic division from the top (stable: |z| ≤ 1).
          const z = pz[i];
          let r = q[qOff + h];
          let w = r * gamma[g + h - 1];
          for (let k = h - 1; k >= 1; k--) {
            r = q[qOff + k] - z * r;
            w += r * gamma[g + k - 1];
          }
          phi[pf[i]] += v * (1 - z) * zc * w;
        }
      }
      return;
    }

    const split = this.feature[node];
    const goTrue = this.goesTrue(node, this.x[split]);
    const hot = goTrue ? this.trueChild[node] : this.falseChild[node];
    const cold = goTrue ? this.falseChild[node] : this.trueChild[node];
    // A feature already on the path is unwound and re-added with the product
    // of both fractions: the Shapley game has one player per feature, not per split.
    let k = 0;
    while (k < d && pf[k] !== split) k++;
    const repeated = k < d;
    let iz = 1;
    let io = 1;
    if (repeated) {
      iz = pz[k];
      io = po[k];
      if (io === 1) {
        // Q / (iz + y), written above the current polynomial.
        let r = q[qOff + h];
        q[free + h - 1] = r;
        for (let j = h - 1; j >= 1; j--) {
          r = q[qOff + j] - iz * r;
          q[free + j - 1] = r;
        }
        qOff = free;
        free += h;
        h -= 1;
      } else {
        zc /= iz;
      }
      for (let i = k; i < d - 1; i++) {
        pf[i] = pf[i + 1];
        pz[i] = pz[i + 1];
        po[i] = po[i + 1];
      }
      d -= 1;
    }

    const hz = this.frac[hot] * iz;
    const cz = this.frac[cold] * iz;
    pf[d] = split;
    if (io === 1) {
      // Hot child, hot element: Q·(hz + y).
      pz[d] = hz;
      po[d] = 1;
      q[free] = hz * q[qOff];
      for (let j = 1; j <= h; j++) q[free + j] = hz * q[qOff + j] + q[qOff + j - 1];
      q[free + h + 1] = q[qOff + h];
      this.recurse(hot, d + 1, h + 1, free, free + h + 2, zc);
    } else if (hz !== 0) {
      // The feature was already cold on this path: the hot child stays cold.
      // (Zero and one fraction both 0 would carry no weight at all: skipped.)
      pz[d] = hz;
      po[d] = 0;
      this.recurse(hot, d + 1, h, qOff, free, zc * hz);
    }
    if (cz !== 0) {
      pf[d] = split;
      pz[d] = cz;
      po[d] = 0;
      this.recurse(cold, d + 1, h, qOff, free, zc * cz);
    }

    if (repeated) {
      // Undo the shift so the caller finds its path descriptors unchanged.
      for (let i = d; i > k; i--) {
        pf[i] = pf[i - 1];
        pz[i] = pz[i - 1];
        po[i] = po[i - 1];
      }
      pf[k] = split;
      pz[k] = iz;
      po[k] = io;
    }
  }
}
