/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee, "Consistent
 * individualized feature attribution for tree ensembles", Algorithm 2) over
 * the flat `TreeEnsemble` arrays.
 *
 * The value function is the path-dependent conditional expectation: for a
 * coalition S, walk the tree; at a split on a feature in S follow `x`, else
 * take the cover-weighted average of both children. φ are the Shapley values
 * of that game, so Σφ + expectedValue(t) = f(x) exactly (up to rounding).
 *
 * Split fractions. The weight of a child when its split feature is not in S is
 * `cover[child] / (cover[trueChild] + cover[falseChild])`. Using the sum of the
 * two children (not the parent's cover) keeps the two fractions summing to 1
 * even for covers that are not exactly additive; for additive covers (Vigil's
 * training counts, counts from `withCovers`) it equals shap's
 * `cover[child] / cover[parent]`. When both children have cover 0 (a node no
 * reference row reached, see `covers.ts`) the split is taken as uniform (½, ½),
 * so 0/0 never occurs; the brute-force reference in the tests uses the same rule.
 */
import { UnsupportedModelError, VigilError } from '#core/errors.ts';
import { goesTrue, NodeMode, type TreeEnsemble } from '#core/trees.ts';

/** Per-ensemble data derived once and cached (fractions, depth, work buffers). */
interface Prepared {
  /** Weight of each node relative to its sibling pair (1 for roots). */
  readonly frac: Float64Array;
  /** Multiplier applied to every tree output: 1 (SUM) or 1/nTrees (AVERAGE). */
  readonly scale: number;
  /** Cover-weighted mean raw output of the ensemble, including `base`. */
  readonly expected: number;
  readonly ws: Workspace;
}

const cache = new WeakMap<TreeEnsemble, Prepared>();
const EMPTY = new Float64Array(0);

/**
 * Holds the buffers for one ensemble (sized once, so a call allocates nothing).
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
class Workspace {
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

  /** The split of `node` for this row; BRANCH_LEQ (what Vigil trains) inlined, the rest via `goesTrue`. */
  private goesTrue(node: number, v: number): boolean {
    if (this.mode[node] !== NodeMode.BRANCH_LEQ) return goesTrue(this.t, node, v);
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

/** Depth of the deepest tree; also checks that node links stay in range and acyclic. */
function maxTreeDepth(t: TreeEnsemble): number {
  const n = t.feature.length;
  const stackNode = new Int32Array(n + 1);
  const stackDepth = new Int32Array(n + 1);
  let maxDepth = 0;
  let visited = 0;
  for (let r = 0; r < t.roots.length; r++) {
    let sp = 0;
    stackNode[sp] = t.roots[r];
    stackDepth[sp++] = 0;
    while (sp > 0) {
      const node = stackNode[--sp];
      const depth = stackDepth[sp];
      if (node < 0 || node >= n)
        throw new VigilError('InvalidModel', `tree ${r} links to missing node ${node}`);
      if (++visited > n) throw new VigilError('InvalidModel', 'tree nodes are shared or cyclic');
      if (depth > maxDepth) maxDepth = depth;
      if (t.trueChild[node] >= 0 || t.mode[node] !== NodeMode.LEAF) {
        stackNode[sp] = t.trueChild[node];
        stackDepth[sp++] = depth + 1;
        stackNode[sp] = t.falseChild[node];
        stackDepth[sp++] = depth + 1;
      }
    }
  }
  return maxDepth;
}

function prepare(t: TreeEnsemble): Prepared {
  const hit = cache.get(t);
  if (hit) return hit;
  if (t.aggregate !== 'SUM' && t.aggregate !== 'AVERAGE') {
    throw new UnsupportedModelError(
      `TreeSHAP explains additive ensembles only (aggregate SUM or AVERAGE); this model combines trees with ${t.aggregate}, whose output is not a sum of per-tree terms`,
      { aggregate: t.aggregate },
    );
  }
  const n = t.feature.length;
  const maxDepth = maxTreeDepth(t);
  const frac = new Float64Array(n);
  for (let r = 0; r < t.roots.length; r++) frac[t.roots[r]] = 1;
  for (let node = 0; node < n; node++) {
    const a = t.trueChild[node];
    if (a < 0) continue;
    const b = t.falseChild[node];
    const f = t.feature[node];
    if (f < 0 || f >= t.nFeatures) {
      throw new VigilError(
        'InvalidModel',
        `node ${node} splits on feature ${f}, outside 0..${t.nFeatures - 1}`,
      );
    }
    const ca = t.cover[a];
    const cb = t.cover[b];
    if (!(ca >= 0) || !(cb >= 0)) {
      throw new UnsupportedModelError(
        'the model carries no node covers; compute them from the reference sample with withCovers() before explaining',
        { node },
      );
    }
    const sum = ca + cb;
    frac[a] = sum > 0 ? ca / sum : 0.5;
    frac[b] = sum > 0 ? cb / sum : 0.5;
  }
  const scale = t.aggregate === 'AVERAGE' ? 1 / Math.max(1, t.roots.length) : 1;
  // E[f]: each leaf weighted by the product of fractions on its path.
  let expected = 0;
  const stack: number[] = [];
  const weight: number[] = [];
  for (let r = 0; r < t.roots.length; r++) {
    stack.push(t.roots[r]);
    weight.push(1);
    while (stack.length > 0) {
      const node = stack.pop() as number;
      const w = weight.pop() as number;
      const a = t.trueChild[node];
      if (a < 0) {
        expected += w * t.value[node];
      } else {
        const b = t.falseChild[node];
        stack.push(a, b);
        weight.push(w * frac[a], w * frac[b]);
      }
    }
  }
  const prepared: Prepared = {
    frac,
    scale,
    expected: expected * scale + t.base,
    ws: new Workspace(t, frac, maxDepth),
  };
  cache.set(t, prepared);
  return prepared;
}

/**
 * Expected raw output E[f(X)] under the path-dependent (cover-weighted)
 * distribution, `base` included: the `baseValue` of every explanation.
 *
 * @throws UnsupportedModelError for MIN/MAX aggregation or missing covers.
 */
export function expectedValue(t: TreeEnsemble): number {
  return prepare(t).expected;
}

/**
 * SHAP values of one row: φ per feature (length `t.nFeatures`), with
 * Σφ + expectedValue(t) = raw ensemble output. Missing values (NaN) follow
 * each node's `missingTracksTrue`, as in scoring.
 *
 * The ensemble is prepared once (fractions, depth, buffers cached by object
 * identity), so mutating its arrays after the first call is not supported.
 *
 * @param x one row in column order (at least `t.nFeatures` values)
 * @param out optional output buffer, overwritten
 * @throws UnsupportedModelError for MIN/MAX aggregation or missing covers.
 * @example
 * const phi = treeShap(forest, [95, 85, 500]);
 * const raw = expectedValue(forest) + phi.reduce((a, b) => a + b, 0);
 */
export function treeShap(
  t: TreeEnsemble,
  x: ArrayLike<number>,
  out: Float64Array = new Float64Array(t.nFeatures),
): Float64Array {
  const p = prepare(t);
  if (x.length < t.nFeatures) {
    throw new VigilError('InvalidFeature', `row has ${x.length} values, the model reads ${t.nFeatures}`, {
      expected: t.nFeatures,
      got: x.length,
    });
  }
  if (out.length !== t.nFeatures) throw new RangeError(`out must have length ${t.nFeatures}`);
  out.fill(0);
  p.ws.run(x, out, p.scale);
  return out;
}

/**
 * SHAP values of many rows, sharing the prepared ensemble.
 * @returns one Float64Array (length `t.nFeatures`) per row
 */
export function treeShapBatch(t: TreeEnsemble, rows: ReadonlyArray<ArrayLike<number>>): Float64Array[] {
  return rows.map((x) => treeShap(t, x));
}
