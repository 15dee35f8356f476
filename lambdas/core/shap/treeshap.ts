/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee, "Consistent
 * individualized feature attribution for tree ensembles") over the flat
 * `TreeEnsemble` arrays.
 *
 * Two exact implementations of the same game share the preparation here:
 * `treeShap` reads per-leaf pattern tables built once per model
 * (`leaf-patterns.ts`, after Fast TreeSHAP v2), and `treeShapReference` runs
 * the paper's Algorithm 2 (`treeshap-algorithm2.ts`), kept as the independent
 * check and the bench's baseline.
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
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import {
  type LeafPatternOptions,
  LeafPatternShap,
  type LeafPatternStats,
  MAX_FEATURES,
  MAX_PATH_FEATURES,
} from './leaf-patterns.ts';
import { Algorithm2 } from './treeshap-algorithm2.ts';

/**
 * Per-ensemble data derived once and cached by object identity, so it lives as
 * long as the caller keeps the ensemble (the explain use case and the edge entry
 * keep one per loaded model). The two explainers are built on first use.
 */
interface Prepared {
  /** Weight of each node relative to its sibling pair (1 for roots). */
  readonly frac: Float64Array;
  /** Multiplier applied to every tree output: 1 (SUM) or 1/nTrees (AVERAGE). */
  readonly scale: number;
  /** Cover-weighted mean raw output of the ensemble, including `base`. */
  readonly expected: number;
  readonly maxDepth: number;
  /** null when a path may hold more distinct features than a pattern mask has bits. */
  fast?: LeafPatternShap | null;
  reference?: Algorithm2;
}

const cache = new WeakMap<TreeEnsemble, Prepared>();

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
  const prepared: Prepared = { frac, scale, expected: expected * scale + t.base, maxDepth };
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

/** Whether `t` fits pattern masks and node codes (else Algorithm 2 explains it). */
const patternsFit = (t: TreeEnsemble, p: Prepared): boolean =>
  Math.min(p.maxDepth, t.nFeatures) <= MAX_PATH_FEATURES && t.nFeatures <= MAX_FEATURES;

/** The pattern-table explainer of `t`, or null when its paths are too long for one (Algorithm 2 then). */
function fastOf(t: TreeEnsemble, p: Prepared): LeafPatternShap | null {
  if (p.fast === undefined) p.fast = patternsFit(t, p) ? new LeafPatternShap(t, p.frac, p.scale) : null;
  return p.fast;
}

function referenceOf(t: TreeEnsemble, p: Prepared): Algorithm2 {
  p.reference ??= new Algorithm2(t, p.frac, p.maxDepth);
  return p.reference;
}

function checkRow(t: TreeEnsemble, x: ArrayLike<number>, out: Float64Array): void {
  if (x.length < t.nFeatures) {
    throw new VigilError('InvalidFeature', `row has ${x.length} values, the model reads ${t.nFeatures}`, {
      expected: t.nFeatures,
      got: x.length,
    });
  }
  if (out.length !== t.nFeatures) throw new RangeError(`out must have length ${t.nFeatures}`);
}

/**
 * SHAP values of one row: φ per feature (length `t.nFeatures`), with
 * Σφ + expectedValue(t) = raw ensemble output. Missing values (NaN) follow
 * each node's `missingTracksTrue`, as in scoring.
 *
 * The first call on an ensemble builds its leaf-pattern tables (one float64 per
 * leaf and pattern of the leaf's path features; for 100 isolation trees at
 * ψ = 256, 3.8 MB with the node layout, 50–270 ms on a busy 2-core machine, the
 * upper end with a cold JIT; see `treeShapStats`), cached by object identity
 * with the fractions and buffers, so mutating its arrays after the first call is
 * not supported.
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
  checkRow(t, x, out);
  out.fill(0);
  const fast = fastOf(t, p);
  if (fast) fast.run(x, out);
  else referenceOf(t, p).run(x, out, p.scale);
  return out;
}

/**
 * The same SHAP values by the paper's Algorithm 2 (O(T·L·D²)): the reference
 * `treeShap` is tested against and benchmarked beside. Same contract as `treeShap`.
 */
export function treeShapReference(
  t: TreeEnsemble,
  x: ArrayLike<number>,
  out: Float64Array = new Float64Array(t.nFeatures),
): Float64Array {
  const p = prepare(t);
  checkRow(t, x, out);
  out.fill(0);
  referenceOf(t, p).run(x, out, p.scale);
  return out;
}

/**
 * Sizes of `treeShap`'s precomputation for `t` (building it if needed), or
 * null when the model's paths are too long for pattern tables.
 */
export function treeShapStats(t: TreeEnsemble): LeafPatternStats | null {
  return fastOf(t, prepare(t))?.stats ?? null;
}

/**
 * A `treeShap` with its own (uncached) leaf-pattern tables under the given
 * limits, e.g. `{ maxTableBits: 0 }` to compute every leaf directly. For tests
 * and the bench; the explain path uses `treeShap`.
 * @throws VigilError InvalidModel when the model's paths are too long for pattern masks
 */
export function createTreeShap(
  t: TreeEnsemble,
  options: LeafPatternOptions,
): { readonly stats: LeafPatternStats; explain(x: ArrayLike<number>, out?: Float64Array): Float64Array } {
  const p = prepare(t);
  if (!patternsFit(t, p)) {
    throw new VigilError(
      'InvalidModel',
      `paths may hold more than ${MAX_PATH_FEATURES} distinct features (or the model reads more than ${MAX_FEATURES})`,
    );
  }
  const fast = new LeafPatternShap(t, p.frac, p.scale, options);
  return {
    stats: fast.stats,
    explain(x, out = new Float64Array(t.nFeatures)) {
      checkRow(t, x, out);
      out.fill(0);
      fast.run(x, out);
      return out;
    },
  };
}

/**
 * SHAP values of many rows, sharing the prepared ensemble.
 * @returns one Float64Array (length `t.nFeatures`) per row
 */
export function treeShapBatch(t: TreeEnsemble, rows: ReadonlyArray<ArrayLike<number>>): Float64Array[] {
  return rows.map((x) => treeShap(t, x));
}
