/**
 * Exact path-dependent TreeSHAP from each leaf's *pattern*: which of its path
 * features the row follows. Algorithm 2 of Lundberg et al. carries polynomial
 * path weights down both children of every node (O(T·L·D²) per row); the
 * weights depend on the row only through the patterns, so, after Fast
 * TreeSHAP v2 (Yang, "Fast TreeSHAP: Accelerating SHAP Value Computation for
 * Trees", 2021), they are tabulated once per model for every leaf and pattern,
 * and a row costs a pass down the trees, table reads at the leaves and a pass
 * back up.
 *
 * The game, per leaf. Leaf j with value v has d distinct features on its root
 * path. For path feature k, z_k is the product of the cover fractions of the
 * path's children at k's splits (the weight of "k unknown"), and o_k = 1 when
 * the row follows every split on k along the path (else 0). For a coalition S
 * the leaf adds v·Π_{k∈S} o_k·Π_{k∉S} z_k to the path-dependent expectation, so
 * with H = {k : o_k = 1} and Shapley weights w(s) = s!(d−1−s)!/d! over the d
 * path features:
 *
 *   C(H) = −v · Σ_{S⊆H} w(|S|) · Π_{k∉S} z_k   added to φ_i for each path feature i ∉ H,
 *   −(1 − z_i)/z_i · C(H ∖ {i})                added to φ_i for each i ∈ H.
 *
 * A leaf's table holds C for its 2^d patterns (index = bit mask over path
 * positions; one float64 each: ~3,400 per ψ = 256 isolation tree, 2.6 MB for
 * 100 trees, 3.8 MB with the node layout). What a row then does:
 *  - Down: a child's mask is its parent's with the split feature's bit set (a
 *    new feature, the child on the row's side), kept (a repeated feature, row's
 *    side) or cleared (the other side). Branch-free, over internal nodes only.
 *  - Leaves: C(H) is one read; each hot feature one more read.
 *  - Up: cold terms are summed over subtrees rather than paid per leaf and
 *    feature: a feature turns cold for every leaf below the child the row does
 *    not take, and stays cold, so φ_i gets that child's subtree sum of C at each
 *    split on i where i was still hot.
 * So a row is O(nodes + Σ_leaves |H|) per tree (|H| ≈ 2.6 on average on the
 * bench forest, against d ≈ 5.2), with no allocation.
 *
 * Leaves whose table would be too large (d above `maxTableBits`, or past the
 * model's `maxTableEntries`) or whose path has a zero fraction (a child no
 * reference row reached: the hot formula would divide by z_i = 0) are computed
 * directly instead, Algorithm 2's leaf step on the known pattern: with
 * Q(y) = Π_{k∈H}(z_k + y), Zc = Π_{k∉H} z_k and W(P) = Σ_s P_s·w(s), C = −v·Zc·W(Q)
 * and hot i gets v·(1 − z_i)·Zc·W(Q / (z_i + y)); O(|H|²), still exact.
 */
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';

/** Distinct features a root path may hold for its pattern to fit an int32 mask. */
export const MAX_PATH_FEATURES = 30;
/** Input width whose feature ids still fit the int32 node code. */
export const MAX_FEATURES = 2 ** 21;

/** Limits on the per-leaf tables. */
export interface LeafPatternOptions {
  /** Most distinct path features a leaf may have and still get a table (2^bits entries). @default 10 */
  readonly maxTableBits?: number;
  /** Most table entries (float64) per model; the other leaves are computed directly. @default 2^21 (16 MB) */
  readonly maxTableEntries?: number;
}

const TABLE_DEFAULTS = { maxTableBits: 10, maxTableEntries: 2 ** 21 };

/** Sizes of the precomputed layout, for callers that report memory. */
export interface LeafPatternStats {
  readonly nodes: number;
  readonly leaves: number;
  /** Leaves with a table of C over their patterns (the rest are computed directly). */
  readonly tableLeaves: number;
  readonly tableEntries: number;
  /** Bytes of every typed array this object holds. */
  readonly bytes: number;
}

// Internal-node code: feature · 1024 | mode << 7 | missingTracksTrue << 6 | isNew << 5 | path position.
const NEW = 32;
const MISSING_TRUE = 64;
const POSITION = 31;

/**
 * The layout of one ensemble and its work buffers. Not re-entrant (the buffers
 * are shared across calls), which is fine in single-threaded JavaScript.
 */
export class LeafPatternShap {
  // Slots: internal nodes 0 … nInner−1 in preorder over all trees (parents before
  // children), then the leaves in table order. `mask` and `sum` are indexed by slot.
  private readonly iCode: Int32Array;
  private readonly iThr: Float64Array;
  private readonly iTrue: Int32Array;
  private readonly iFalse: Int32Array;
  private readonly nInner: number;

  private readonly pathOff: Int32Array; // into pFeat / pZ
  private readonly depth: Int32Array; // distinct path features d
  private readonly leafValue: Float64Array; // v, scale included
  /** Π over the path of z, or NaN when one of them is 0. */
  private readonly zAll: Float64Array;
  /** C for the empty pattern: −v·Π z·w(0). */
  private readonly cEmpty: Float64Array;
  private readonly pFeat: Int32Array;
  private readonly pZ: Float64Array;
  /** −(1 − z)/z per path position: a hot feature's factor on C(H ∖ {i}). */
  private readonly pFac: Float64Array;
  /** Leaves 0 … nTable−1 have tables of C over their 2^d patterns, one after the other. */
  private readonly nTable: number;
  private readonly table: Float64Array;
  /** gamma[d(d−1)/2 + s] = w(s) for d path features. */
  private readonly gamma: Float64Array;

  private readonly mask: Int32Array;
  private readonly sum: Float64Array;
  private readonly xv: Float64Array;
  private readonly q: Float64Array;
  private readonly doubleInput: boolean;
  readonly stats: LeafPatternStats;

  /**
   * @param t a validated ensemble (links in range, acyclic, features in range) of at most MAX_FEATURES
   *   features whose root paths hold ≤ MAX_PATH_FEATURES distinct features
   * @param frac each node's cover fraction relative to its sibling pair
   * @param scale multiplier of every tree's output (1/T for AVERAGE)
   */
  constructor(t: TreeEnsemble, frac: Float64Array, scale: number, options: LeafPatternOptions = {}) {
    const { maxTableBits, maxTableEntries } = { ...TABLE_DEFAULTS, ...options };
    const n = t.feature.length;
    this.doubleInput = t.doubleInput === true;
    const code = new Int32Array(n);
    const thr = new Float64Array(n);
    const fPos = new Int32Array(n);

    const leaves: Array<{ pos: number; value: number; features: number[]; z: number[] }> = [];
    let next = 0;
    // Preorder with an explicit stack (imported trees may be deep); each frame
    // carries its path's distinct features and their z.
    interface Frame {
      readonly node: number;
      readonly parent: number;
      readonly features: number[];
      readonly z: number[];
    }
    for (let r = 0; r < t.roots.length; r++) {
      const stack: Frame[] = [{ node: t.roots[r], parent: -1, features: [], z: [] }];
      while (stack.length > 0) {
        const f = stack.pop() as Frame;
        const pos = next++;
        // A frame is a true child exactly when it directly follows its parent.
        if (f.parent >= 0 && f.parent !== pos - 1) fPos[f.parent] = pos;
        const node = f.node;
        if (t.trueChild[node] < 0) {
          code[pos] = -1;
          leaves.push({ pos, value: t.value[node], features: f.features, z: f.z });
          continue;
        }
        const split = t.feature[node];
        let p = f.features.indexOf(split);
        const isNew = p < 0;
        if (isNew) p = f.features.length;
        code[pos] =
          split * 1024 +
          (t.mode[node] << 7) +
          (t.missingTracksTrue[node] === 1 ? MISSING_TRUE : 0) +
          (isNew ? NEW : 0) +
          p;
        thr[pos] = t.threshold[node];
        const features = isNew ? [...f.features, split] : f.features;
        const z0 = isNew ? 1 : f.z[p];
        const child = (c: number): Frame => {
          const z = f.z.slice();
          z[p] = z0 * frac[c];
          return { node: c, parent: pos, features, z };
        };
        // False child pushed first, so the true child is laid out right after its parent.
        stack.push(child(t.falseChild[node]), child(t.trueChild[node]));
      }
    }

    // Leaf order: leaves with a table first, by ascending d (so the per-leaf loop
    // over path positions has a predictable trip count), then the others.
    // Tables go to the shallowest leaves first, so a tight budget drops the largest ones.
    const byDepth = leaves
      .map((l) => ({ l, d: l.features.length, ok: l.z.every((z) => z > 0) }))
      .sort((a, b) => a.d - b.d || a.l.pos - b.l.pos);
    const withTable: typeof leaves = [];
    const direct: typeof leaves = [];
    let entries = 0;
    for (const e of byDepth) {
      if (e.ok && e.d <= maxTableBits && entries + 2 ** e.d <= maxTableEntries) {
        withTable.push(e.l);
        entries += 2 ** e.d;
      } else direct.push(e.l);
    }
    leaves.splice(0, leaves.length, ...withTable, ...direct);
    this.nTable = withTable.length;
    const nLeaves = leaves.length;
    const nInner = next - nLeaves;
    this.nInner = nInner;
    const slot = new Int32Array(next);
    leaves.forEach((l, i) => {
      slot[l.pos] = nInner + i;
    });
    for (let pos = 0, i = 0; pos < next; pos++) if (code[pos] >= 0) slot[pos] = i++;
    this.iCode = new Int32Array(nInner);
    this.iThr = new Float64Array(nInner);
    this.iTrue = new Int32Array(nInner);
    this.iFalse = new Int32Array(nInner);
    for (let pos = 0, i = 0; pos < next; pos++) {
      if (code[pos] < 0) continue;
      this.iCode[i] = code[pos];
      this.iThr[i] = thr[pos];
      this.iTrue[i] = slot[pos + 1];
      this.iFalse[i] = slot[fPos[pos]];
      i++;
    }
    this.pathOff = new Int32Array(nLeaves);
    this.depth = new Int32Array(nLeaves);
    this.leafValue = new Float64Array(nLeaves);
    this.zAll = new Float64Array(nLeaves);
    this.cEmpty = new Float64Array(nLeaves);
    let pathLen = 0;
    let maxD = 0;
    for (const l of leaves) {
      pathLen += l.features.length;
      maxD = Math.max(maxD, l.features.length);
    }
    this.pFeat = new Int32Array(pathLen);
    this.pZ = new Float64Array(pathLen);
    this.pFac = new Float64Array(pathLen);
    this.gamma = gammaTable(maxD);
    this.q = new Float64Array(maxD + 2);
    this.table = new Float64Array(entries);
    const maxTableD = withTable.length === 0 ? 0 : withTable[withTable.length - 1].features.length;
    const scratchA = new Float64Array((maxTableD + 1) << maxTableD);
    const scratchB = new Float64Array((maxTableD + 1) << maxTableD);
    let po = 0;
    let off = 0;
    leaves.forEach((l, i) => {
      const d = l.features.length;
      const v = l.value * scale;
      let zAll = 1;
      for (let p = 0; p < d; p++) {
        this.pFeat[po + p] = l.features[p];
        this.pZ[po + p] = l.z[p];
        this.pFac[po + p] = -(1 - l.z[p]) / l.z[p];
        zAll *= l.z[p];
      }
      this.pathOff[i] = po;
      this.depth[i] = d;
      this.leafValue[i] = v;
      this.zAll[i] = zAll === 0 ? Number.NaN : zAll;
      this.cEmpty[i] = d === 0 ? 0 : (-v * zAll) / d;
      if (i < this.nTable) {
        this.fillTable(off, d, po, v, scratchA, scratchB);
        off += 2 ** d;
      }
      po += d;
    });

    this.mask = new Int32Array(n); // roots keep mask 0: only children are ever written
    this.sum = new Float64Array(n);
    this.xv = new Float64Array(t.nFeatures);
    const arrays = [
      this.pFac,
      this.table,
      this.iCode,
      this.iThr,
      this.iTrue,
      this.iFalse,
      this.pathOff,
      this.depth,
      this.leafValue,
      this.zAll,
      this.cEmpty,
      this.pFeat,
      this.pZ,
      this.gamma,
      this.mask,
      this.sum,
      this.xv,
      this.q,
    ];
    this.stats = {
      nodes: next,
      leaves: nLeaves,
      tableLeaves: this.nTable,
      tableEntries: entries,
      bytes: arrays.reduce((s, a) => s + a.byteLength, 0),
    };
  }

  /** Adds every tree's contributions (scale included) to `phi`. */
  run(x: ArrayLike<number>, phi: Float64Array): void {
    const xv = this.xv;
    for (let f = 0; f < xv.length; f++) xv[f] = this.doubleInput ? x[f] : Math.fround(x[f]);
    this.down();
    this.upLeaves(phi);
    this.upInner(phi);
  }

  /** The row's direction at every split, and every node's pattern mask. */
  private down(): void {
    const xv = this.xv;
    const code = this.iCode;
    const thr = this.iThr;
    const tSlot = this.iTrue;
    const fSlot = this.iFalse;
    const mask = this.mask;
    for (let i = 0; i < code.length; i++) {
      const c = code[i];
      const v = xv[c >>> 10];
      const th = thr[i];
      const mode = (c >> 7) & 7;
      let goTrue: boolean;
      if (mode === NodeMode.BRANCH_LEQ) goTrue = v <= th;
      else if (mode === NodeMode.BRANCH_LT) goTrue = v < th;
      else if (mode === NodeMode.BRANCH_GTE) goTrue = v >= th;
      else if (mode === NodeMode.BRANCH_GT) goTrue = v > th;
      else if (mode === NodeMode.BRANCH_EQ) goTrue = v === th;
      else goTrue = v !== th;
      // NaN compares false (true for NEQ) unless the node sends missing values to its true child.
      if ((c & MISSING_TRUE) !== 0 && Number.isNaN(v)) goTrue = true;
      const m = mask[i];
      const b = 1 << (c & POSITION);
      const hot = m | (c & NEW ? b : 0);
      const cold = m & ~b;
      // Branch-free: the row's direction is as good as random to the branch predictor.
      const flip = (hot ^ cold) & -goTrue;
      mask[tSlot[i]] = cold ^ flip;
      mask[fSlot[i]] = hot ^ flip;
    }
  }

  /** Each leaf's hot terms and its C. */
  private upLeaves(phi: Float64Array): void {
    const mask = this.mask;
    const sum = this.sum;
    const base = this.nInner;
    const nLeaves = this.depth.length;
    const depth = this.depth;
    const table = this.table;
    const pFeat = this.pFeat;
    const pFac = this.pFac;
    const nTable = this.nTable;
    let po = 0;
    let off = 0;
    for (let leaf = 0; leaf < nTable; leaf++) {
      const pos = base + leaf;
      const h = mask[pos];
      const d = depth[leaf];
      sum[pos] = table[off + h];
      for (let rest = h; rest !== 0; rest &= rest - 1) {
        const low = rest & -rest;
        const p = po + 31 - Math.clz32(low);
        phi[pFeat[p]] += pFac[p] * table[off + (h ^ low)];
      }
      po += d;
      off += 1 << d;
    }
    const cEmpty = this.cEmpty;
    for (let leaf = nTable; leaf < nLeaves; leaf++) {
      const pos = base + leaf;
      const h = mask[pos];
      sum[pos] = h === 0 ? cEmpty[leaf] : this.leaf(leaf, h, phi);
    }
  }

  /** Subtree sums of C and each split's cold term, children before parents. */
  private upInner(phi: Float64Array): void {
    const mask = this.mask;
    const sum = this.sum;
    const code = this.iCode;
    const tSlot = this.iTrue;
    const fSlot = this.iFalse;
    for (let i = code.length - 1; i >= 0; i--) {
      const c = code[i];
      const t = tSlot[i];
      const f = fSlot[i];
      sum[i] = sum[t] + sum[f];
      const p = c & POSITION;
      // Still hot here (or new here): the child whose mask lost the bit is where the
      // feature went cold. Branch-free, as the direction is random: a 0/1 factor.
      const live = ((mask[i] >>> p) | (c >>> 5)) & 1;
      const cold = (mask[t] >>> p) & 1 ? f : t;
      phi[c >>> 10] += live * sum[cold];
    }
  }

  /**
   * Writes C(P) for every pattern P of a leaf with `d` path features at path
   * offset `po`, level by level over path positions: after position p, entry u of
   * the level (bit k of u = position k hot) holds the coefficients (y^0 first) of
   * Π_{k<p} (z_k + y if hot, z_k if cold); C(P) = −v·Σ_{s<d} coef_s·w(s).
   */
  private fillTable(off: number, d: number, po: number, v: number, a: Float64Array, b: Float64Array): void {
    const z = this.pZ;
    const w = d + 1;
    let cur = a;
    let nxt = b;
    cur[0] = 1;
    for (let p = 0; p < d; p++) {
      const zp = z[po + p];
      const n = 1 << p;
      for (let u = 0; u < n; u++) {
        const src = u * w;
        const cold = u * w;
        const hot = (u | n) * w;
        nxt[hot] = zp * cur[src];
        for (let k = 1; k <= p; k++) {
          nxt[cold + k - 1] = zp * cur[src + k - 1];
          nxt[hot + k] = zp * cur[src + k] + cur[src + k - 1];
        }
        nxt[cold + p] = zp * cur[src + p];
        nxt[cold + p + 1] = 0;
        nxt[hot + p + 1] = cur[src + p];
      }
      const t = cur;
      cur = nxt;
      nxt = t;
    }
    const gamma = this.gamma;
    const g = (d * (d - 1)) / 2;
    const full = (1 << d) - 1;
    for (let u = 0; u <= full; u++) {
      // The all-hot pattern is never read: no feature is cold to take C.
      let sum = 0;
      if (u !== full) for (let k = 0; k < d; k++) sum += cur[u * w + k] * gamma[g + k];
      this.table[off + u] = -v * sum;
    }
  }

  /** A leaf on a non-empty pattern `h`: adds its hot terms to `phi` and returns C. */
  private leaf(leaf: number, h: number, phi: Float64Array): number {
    const d = this.depth[leaf];
    const v = this.leafValue[leaf];
    const po = this.pathOff[leaf];
    const z = this.pZ;
    const q = this.q;
    // Q = Π_{k∈H} (z_k + y), coefficients from y^0.
    let deg = 0;
    q[0] = 1;
    for (let rest = h; rest !== 0; rest &= rest - 1) {
      const zp = z[po + 31 - Math.clz32(rest & -rest)];
      q[deg + 1] = q[deg];
      for (let k = deg; k >= 1; k--) q[k] = zp * q[k] + q[k - 1];
      q[0] *= zp;
      deg++;
    }
    let zc = this.zAll[leaf] / q[0];
    if (Number.isNaN(zc)) {
      // A zero fraction on the path: multiply the cold z out.
      zc = 1;
      for (let p = 0; p < d; p++) if (((h >> p) & 1) === 0) zc *= z[po + p];
    }
    if (zc === 0 || v === 0) return 0;
    const gamma = this.gamma;
    const g = (d * (d - 1)) / 2;
    const vzc = v * zc;
    for (let rest = h; rest !== 0; rest &= rest - 1) {
      const p = 31 - Math.clz32(rest & -rest);
      const zp = z[po + p];
      // W(Q / (z + y)) by synthetic division from the top (stable: |z| ≤ 1).
      let r = q[deg];
      let w = r * gamma[g + deg - 1];
      for (let k = deg - 1; k >= 1; k--) {
        r = q[k] - zp * r;
        w += r * gamma[g + k - 1];
      }
      phi[this.pFeat[po + p]] += vzc * (1 - zp) * w;
    }
    if (deg === d) return 0; // no cold feature reads C
    let w = 0;
    for (let k = 0; k <= deg; k++) w += q[k] * gamma[g + k];
    return -vzc * w;
  }
}

/** gamma[d(d−1)/2 + s] = s!(d−1−s)!/d!, the Shapley weight of an s-subset of the other d−1 path features. */
function gammaTable(maxD: number): Float64Array {
  const gamma = new Float64Array(((maxD + 1) * maxD) / 2 + 1);
  for (let d = 1; d <= maxD; d++) {
    const base = (d * (d - 1)) / 2;
    let w = 1 / d;
    for (let s = 0; s < d; s++) {
      gamma[base + s] = w;
      w = (w * (s + 1)) / (d - 1 - s);
    }
  }
  return gamma;
}
