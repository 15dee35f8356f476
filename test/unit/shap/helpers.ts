/**
 * Test helpers for TreeSHAP: a seeded random tree-ensemble generator, a plain
 * tree walk, and an independent brute-force Shapley implementation that
 * enumerates all 2^M coalitions. Also imported by `bench/shap.ts`.
 */
import { type Aggregate, goesTrue, NodeMode, type NodeModeValue, type TreeEnsemble } from '#core/trees.ts';
import { ALL_BRANCH_MODES } from '../../helpers/random-trees.ts';

/** mulberry32: small, fast, seedable; good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Grid values shared by thresholds and rows so that ties and BRANCH_EQ splits really happen. */
const GRID = [0, 0.25, 0.5, 0.75, 1];

export interface RandomEnsembleOptions {
  readonly nFeatures: number;
  readonly nTrees: number;
  readonly maxDepth: number;
  /** Probability that a non-root node above maxDepth becomes a leaf. @default 0.2 */
  readonly leafProb?: number;
  /** Features splits may use (duplicates on a path are likely when it is small). @default all */
  readonly featurePool?: readonly number[];
  /** Use all six comparison modes, not only BRANCH_LEQ. @default true */
  readonly mixedModes?: boolean;
  /** Probability that a leaf gets cover 0 (no reference row reached it). @default 0.1 */
  readonly zeroCoverProb?: number;
  readonly aggregate?: Aggregate;
  readonly base?: number;
  /** Lay nodes out in a random global order, so no code can assume DFS order. @default true */
  readonly shuffle?: boolean;
  /**
   * 'random': random shape; 'caterpillar': every internal node has a leaf
   * child (maximally unbalanced). @default 'random'
   */
  readonly shape?: 'random' | 'caterpillar';
}

interface BuildNode {
  feature: number;
  threshold: number;
  mode: NodeModeValue;
  missingTrue: number;
  value: number;
  cover: number;
  t: BuildNode | null;
  f: BuildNode | null;
}

const MODES: NodeModeValue[] = ALL_BRANCH_MODES;

/** A random ensemble with additive integer covers (leaf covers may be 0). */
export function randomEnsemble(seed: number, o: RandomEnsembleOptions): TreeEnsemble {
  const r = rng(seed);
  const pool = o.featurePool ?? Array.from({ length: o.nFeatures }, (_, i) => i);
  const leafProb = o.leafProb ?? 0.2;
  const zeroCoverProb = o.zeroCoverProb ?? 0.1;
  const mixed = o.mixedModes ?? true;
  const shape = o.shape ?? 'random';

  const leaf = (): BuildNode => ({
    feature: -1,
    threshold: 0,
    mode: NodeMode.LEAF,
    missingTrue: 0,
    value: Math.round((r() * 2 - 1) * 1000) / 100,
    cover: r() < zeroCoverProb ? 0 : 1 + Math.floor(r() * 20),
    t: null,
    f: null,
  });
  const build = (depth: number): BuildNode => {
    if (depth >= o.maxDepth || (depth > 0 && shape === 'random' && r() < leafProb)) return leaf();
    const threshold = r() < 0.5 ? GRID[Math.floor(r() * GRID.length)] : Math.fround(r());
    let t: BuildNode;
    let f: BuildNode;
    if (shape === 'caterpillar') {
      const deep = build(depth + 1);
      const flat = leaf();
      [t, f] = r() < 0.5 ? [deep, flat] : [flat, deep];
    } else {
      t = build(depth + 1);
      f = build(depth + 1);
    }
    return {
      feature: pool[Math.floor(r() * pool.length)],
      threshold,
      mode: mixed ? MODES[Math.floor(r() * MODES.length)] : NodeMode.BRANCH_LEQ,
      missingTrue: r() < 0.5 ? 1 : 0,
      value: 0,
      cover: t.cover + f.cover,
      t,
      f,
    };
  };
  const trees = Array.from({ length: o.nTrees }, () => build(0));
  return flatten(trees, o.nFeatures, o.aggregate ?? 'SUM', o.base ?? 0, (o.shuffle ?? true) ? r : null);
}

function flatten(
  trees: BuildNode[],
  nFeatures: number,
  aggregate: Aggregate,
  base: number,
  shuffleRng: (() => number) | null,
): TreeEnsemble {
  const all: BuildNode[] = [];
  const walk = (n: BuildNode): void => {
    all.push(n);
    if (n.t && n.f) {
      walk(n.t);
      walk(n.f);
    }
  };
  for (const t of trees) walk(t);
  const order = all.map((_, i) => i);
  if (shuffleRng) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(shuffleRng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  const index = new Map<BuildNode, number>();
  for (let i = 0; i < all.length; i++) index.set(all[i], order[i]);
  const n = all.length;
  const e = {
    nFeatures,
    roots: Int32Array.from(trees.map((t) => index.get(t) as number)),
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    mode: new Uint8Array(n),
    trueChild: new Int32Array(n),
    falseChild: new Int32Array(n),
    missingTracksTrue: new Uint8Array(n),
    value: new Float64Array(n),
    cover: new Float64Array(n),
    aggregate,
    base,
  };
  for (const node of all) {
    const i = index.get(node) as number;
    e.feature[i] = node.feature;
    e.threshold[i] = node.threshold;
    e.mode[i] = node.mode;
    e.trueChild[i] = node.t ? (index.get(node.t) as number) : -1;
    e.falseChild[i] = node.f ? (index.get(node.f) as number) : -1;
    e.missingTracksTrue[i] = node.missingTrue;
    e.value[i] = node.value;
    e.cover[i] = node.cover;
  }
  return e;
}

/** A random row: grid values (ties), uniform values, and NaN with probability `nanProb`. */
export function randomRow(r: () => number, nFeatures: number, nanProb = 0.05): Float64Array {
  const x = new Float64Array(nFeatures);
  for (let i = 0; i < nFeatures; i++) {
    const u = r();
    x[i] = u < nanProb ? Number.NaN : u < 0.4 ? GRID[Math.floor(r() * GRID.length)] : r() * 1.2 - 0.1;
  }
  return x;
}

const isLeaf = (t: TreeEnsemble, n: number): boolean => t.trueChild[n] < 0;
const scaleOf = (t: TreeEnsemble): number => (t.aggregate === 'AVERAGE' ? 1 / t.roots.length : 1);

/** Plain walk: the raw ensemble output f(x). */
export function predictRaw(t: TreeEnsemble, x: ArrayLike<number>): number {
  let s = 0;
  for (let r = 0; r < t.roots.length; r++) {
    let n = t.roots[r];
    while (!isLeaf(t, n)) n = goesTrue(t, n, x[t.feature[n]]) ? t.trueChild[n] : t.falseChild[n];
    s += t.value[n];
  }
  return s * scaleOf(t) + t.base;
}

/**
 * Path-dependent conditional expectation E[f(x) | x_S]: at a split on a
 * feature in S follow x; otherwise average both children weighted by cover.
 * When both children have cover 0 the split counts as ½/½ (same documented
 * rule as the implementation under test).
 */
function conditional(t: TreeEnsemble, node: number, x: ArrayLike<number>, mask: number): number {
  if (isLeaf(t, node)) return t.value[node];
  const f = t.feature[node];
  const a = t.trueChild[node];
  const b = t.falseChild[node];
  if ((mask >> f) & 1) return conditional(t, goesTrue(t, node, x[f]) ? a : b, x, mask);
  const ca = t.cover[a];
  const cb = t.cover[b];
  const wa = ca + cb > 0 ? ca / (ca + cb) : 0.5;
  const ea = wa === 0 ? 0 : wa * conditional(t, a, x, mask);
  const eb = wa === 1 ? 0 : (1 - wa) * conditional(t, b, x, mask);
  return ea + eb;
}

/**
 * Brute-force Shapley values: v(S) for all 2^M coalitions, then
 * φ_i = Σ_{S ⊆ M∖{i}} |S|!(M−|S|−1)!/M! · (v(S ∪ {i}) − v(S)).
 * Exponential in M; meant for M ≤ ~12.
 */
export function bruteForceShap(
  t: TreeEnsemble,
  x: ArrayLike<number>,
): { phi: Float64Array; expected: number } {
  const m = t.nFeatures;
  const nSets = 1 << m;
  const v = new Float64Array(nSets);
  const scale = scaleOf(t);
  for (let mask = 0; mask < nSets; mask++) {
    let s = 0;
    for (let r = 0; r < t.roots.length; r++) s += conditional(t, t.roots[r], x, mask);
    v[mask] = s * scale + t.base;
  }
  const fact = [1];
  for (let i = 1; i <= m; i++) fact.push(fact[i - 1] * i);
  const weight = (s: number): number => (fact[s] * fact[m - s - 1]) / fact[m];
  const popcount = (k: number): number => {
    let c = 0;
    while (k) {
      k &= k - 1;
      c++;
    }
    return c;
  };
  const phi = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const bit = 1 << i;
    let acc = 0;
    for (let mask = 0; mask < nSets; mask++) {
      if (mask & bit) continue;
      acc += weight(popcount(mask)) * (v[mask | bit] - v[mask]);
    }
    phi[i] = acc;
  }
  return { phi, expected: v[0] };
}

/** Largest absolute element-wise difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

interface PathElement {
  d: number;
  z: number;
  o: number;
  w: number;
}

/**
 * The paper's Algorithm 2 written literally (EXTEND / UNWIND over an array of
 * path elements, copied at every node): slow but polynomial, so it can check
 * the optimised implementation on models too wide for brute force.
 */
export function literalTreeShap(t: TreeEnsemble, x: ArrayLike<number>): Float64Array {
  const phi = new Float64Array(t.nFeatures);
  const scale = scaleOf(t);
  const frac = (a: number, b: number): number => {
    const s = t.cover[a] + t.cover[b];
    return s > 0 ? t.cover[a] / s : 0.5;
  };
  const extend = (m: PathElement[], z: number, o: number, d: number): PathElement[] => {
    const l = m.length;
    const p = m.map((e) => ({ ...e }));
    p.push({ d, z, o, w: l === 0 ? 1 : 0 });
    for (let i = l - 1; i >= 0; i--) {
      p[i + 1].w += (o * p[i].w * (i + 1)) / (l + 1);
      p[i].w = (z * p[i].w * (l - i)) / (l + 1);
    }
    return p;
  };
  const unwind = (m: PathElement[], i: number): PathElement[] => {
    const l = m.length - 1;
    const p = m.map((e) => ({ ...e }));
    const { o, z } = m[i];
    let n = p[l].w;
    for (let j = l - 1; j >= 0; j--) {
      if (o !== 0) {
        const tmp = p[j].w;
        p[j].w = (n * (l + 1)) / ((j + 1) * o);
        n = tmp - (p[j].w * z * (l - j)) / (l + 1);
      } else {
        p[j].w = (p[j].w * (l + 1)) / (z * (l - j));
      }
    }
    for (let j = i; j < l; j++) {
      p[j].d = p[j + 1].d;
      p[j].z = p[j + 1].z;
      p[j].o = p[j + 1].o;
    }
    p.pop();
    return p;
  };
  const recurse = (node: number, m: PathElement[], z: number, o: number, d: number): void => {
    m = extend(m, z, o, d);
    if (isLeaf(t, node)) {
      for (let i = 1; i < m.length; i++) {
        const w = unwind(m, i).reduce((a, e) => a + e.w, 0);
        phi[m[i].d] += w * (m[i].o - m[i].z) * t.value[node] * scale;
      }
      return;
    }
    const f = t.feature[node];
    const [h, c] = goesTrue(t, node, x[f])
      ? [t.trueChild[node], t.falseChild[node]]
      : [t.falseChild[node], t.trueChild[node]];
    let iz = 1;
    let io = 1;
    const k = m.findIndex((e, i) => i > 0 && e.d === f);
    if (k > 0) {
      iz = m[k].z;
      io = m[k].o;
      m = unwind(m, k);
    }
    const hz = frac(h, c) * iz;
    const cz = frac(c, h) * iz;
    if (hz !== 0 || io !== 0) recurse(h, m, hz, io, f);
    if (cz !== 0) recurse(c, m, cz, 0, f);
  };
  for (let r = 0; r < t.roots.length; r++) recurse(t.roots[r], [], 1, 1, -1);
  return phi;
}
