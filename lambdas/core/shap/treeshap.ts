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
import { UnsupportedModelError, VigilError } from '../errors.ts';
import { goesTrue, NodeMode, type TreeEnsemble } from '../trees.ts';

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
 * Holds the unique-path buffers for one ensemble (sized once from the deepest
 * tree, so a call allocates nothing).
 *
 * Layout. The path weights `pw` change in every position on each EXTEND, so
 * each recursion level keeps its own slice of `pw` (as in the reference C++):
 * a parent's weights survive the recursion into its hot child and are reused
 * for the cold one. The element descriptors (feature `pf`, zero fraction `pz`,
 * one fraction `po`) only change at the appended position or by the shift of
 * an UNWIND, so they live in one shared array indexed by path position, and a
 * node that unwinds shifts them back before returning. That saves copying
 * three of the four arrays at every node.
 */
class Workspace {
  private readonly pf: Int32Array;
  private readonly pz: Float64Array;
  private readonly po: Float64Array;
  private readonly pw: Float64Array;
  /** inv[k] = 1/k, so the inner loops multiply instead of divide. */
  private readonly inv: Float64Array;
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
    const d = maxDepth + 2;
    this.pf = new Int32Array(d + 1);
    this.pz = new Float64Array(d + 1);
    this.po = new Float64Array(d + 1);
    this.pw = new Float64Array(((d + 1) * (d + 2)) / 2 + 1);
    this.inv = new Float64Array(d + 2);
    for (let k = 1; k < d + 2; k++) this.inv[k] = 1 / k;
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
    for (let r = 0; r < roots.length; r++) this.recurse(roots[r], 0, 0, 1, 1, -1);
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
   * One node of Algorithm 2. `d` is the unique-path length the parent hands
   * down (the position this call appends at), `parentOff` where the parent's
   * weights start in `pw`, and (z, o, f) the element to append.
   */
  private recurse(node: number, d: number, parentOff: number, z: number, o: number, f: number): void {
    const pf = this.pf;
    const pz = this.pz;
    const po = this.po;
    const off = parentOff + d + 1;
    this.extend(parentOff, off, d, z, o, f);

    if (this.trueChild[node] < 0) {
      const v = this.value[node] * this.leafScale;
      if (v === 0) return;
      const phi = this.phi;
      // For an element with one fraction 0 the unwound sum is
      // (d+1)/z · Σ_j pw[j]/(d−j), so its contribution w·(0 − z)·v reduces to
      // −(d+1)·v·Σ_j pw[j]/(d−j): the same for every such element, computed once.
      let coldTerm = 0;
      let haveCold = false;
      for (let i = 1; i <= d; i++) {
        if (po[i] === 0) {
          if (!haveCold) {
            coldTerm = -this.coldSum(off, d) * (d + 1) * v;
            haveCold = true;
          }
          phi[pf[i]] += coldTerm;
        } else {
          phi[pf[i]] += this.hotSum(off, d, pz[i]) * (po[i] - pz[i]) * v;
        }
      }
      return;
    }

    const split = this.feature[node];
    const goTrue = this.goesTrue(node, this.x[split]);
    const hot = goTrue ? this.trueChild[node] : this.falseChild[node];
    const cold = goTrue ? this.falseChild[node] : this.trueChild[node];
    let iz = 1;
    let io = 1;
    // A feature already on the path is unwound and re-added with the product
    // of both fractions: the Shapley game has one player per feature, not per split.
    let k = 1;
    while (k <= d && pf[k] !== split) k++;
    const repeated = k <= d;
    if (repeated) {
      iz = pz[k];
      io = po[k];
      this.unwind(off, d, k);
      d -= 1;
    }
    const hz = this.frac[hot] * iz;
    const cz = this.frac[cold] * iz;
    // A branch with zero and one fraction both 0 carries no weight for any
    // coalition; skipping it is exact and avoids dividing by 0 in unwind.
    if (hz !== 0 || io !== 0) this.recurse(hot, d + 1, off, hz, io, split);
    if (cz !== 0) this.recurse(cold, d + 1, off, cz, 0, split);
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

  /**
   * EXTEND: copies the parent's weights (at `from`) to this level (at `off`)
   * and appends element (z, o, f) in the same pass.
   */
  private extend(from: number, off: number, l: number, z: number, o: number, f: number): void {
    const pw = this.pw;
    this.pf[l] = f;
    this.pz[l] = z;
    this.po[l] = o;
    pw[off + l] = l === 0 ? 1 : 0;
    const inv = this.inv[l + 1];
    for (let i = l - 1; i >= 0; i--) {
      const p = pw[from + i];
      pw[off + i + 1] += o * p * (i + 1) * inv;
      pw[off + i] = z * p * (l - i) * inv;
    }
  }

  /** Removes path element k (inverse of `extend`) from a path of length l+1. */
  private unwind(off: number, l: number, k: number): void {
    const pw = this.pw;
    const o = this.po[k];
    const z = this.pz[k];
    let next = pw[off + l];
    if (o !== 0) {
      for (let i = l - 1; i >= 0; i--) {
        const tmp = pw[off + i];
        pw[off + i] = (next * (l + 1)) / ((i + 1) * o);
        next = tmp - (pw[off + i] * z * (l - i)) / (l + 1);
      }
    } else {
      for (let i = l - 1; i >= 0; i--) pw[off + i] = (pw[off + i] * (l + 1)) / (z * (l - i));
    }
    for (let i = k; i < l; i++) {
      this.pf[i] = this.pf[i + 1];
      this.pz[i] = this.pz[i + 1];
      this.po[i] = this.po[i + 1];
    }
  }

  /**
   * Σ of the weights `unwind` would leave after removing an element with one
   * fraction 1 and zero fraction z, without modifying the path (one fractions
   * are 0 or 1 in path-dependent TreeSHAP). This is the inner loop of the
   * whole algorithm (O(D) per path element per leaf), so divisions are read
   * from the 1/k table.
   */
  private hotSum(off: number, l: number, z: number): number {
    const pw = this.pw;
    const inv = this.inv;
    const zc = z * inv[l + 1];
    let total = 0;
    let next = pw[off + l];
    for (let i = l - 1; i >= 0; i--) {
      const tmp = next * (l + 1) * inv[i + 1];
      total += tmp;
      next = pw[off + i] - tmp * zc * (l - i);
    }
    return total;
  }

  /** Σ_j pw[j]/(l−j) over a path of length l+1: the element-independent part of a cold unwound sum. */
  private coldSum(off: number, l: number): number {
    const pw = this.pw;
    const inv = this.inv;
    let total = 0;
    for (let i = l - 1; i >= 0; i--) total += pw[off + i] * inv[l - i];
    return total;
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
