import { Rng } from '#core/forest/rng.ts';
import { meanStd } from '#core/stats.ts';

/** Kinds of synthetic anomaly the injector makes (DESIGN.md §8). */
export type InjectedKind = 'marginal' | 'correlation' | 'stuck';

export const INJECTED_KINDS: readonly InjectedKind[] = ['marginal', 'correlation', 'stuck'];

export interface InjectOptions {
  /** Anomalies to make; split as evenly as possible over `kinds` (earlier kinds get the remainder). */
  readonly count: number;
  readonly seed: number;
  /** @default all three */
  readonly kinds?: readonly InjectedKind[];
  /** Marginal outliers sit this many standard deviations beyond the mean, drawn uniformly in [lo, hi]. @default [4, 8] */
  readonly sigmas?: readonly [number, number];
}

export interface InjectedAnomalies {
  /** Column-major anomalous rows, in the base columns' feature order. */
  readonly columns: Float64Array[];
  /** The kind of each row. */
  readonly kinds: InjectedKind[];
}

/**
 * The synthetic-anomaly injector: gives the gate a quality number when no
 * feedback labels exist, by scoring how well a model separates the holdout's
 * normal rows from rows made anomalous on purpose. Every anomaly starts as a
 * copy of a uniformly drawn base row of `base` (finite-valued, column-major),
 * then:
 *
 * - **marginal**: one uniformly chosen feature f is moved to
 *   mean_f ± k·std_f with k ~ U(sigmas) and a fair-coin sign (std_f = 0 → 1):
 *   a value no normal row is near.
 * - **correlation**: ⌈d/2⌉ uniformly chosen features (at least 1; all when d = 1)
 *   take their value from a different, independently drawn row each, so every
 *   marginal stays a value the data has, but the joint pattern breaks
 *   (e.g. high cpu with idle network).
 * - **stuck**: ⌈d/3⌉ uniformly chosen features (at least 1) are set to that
 *   feature's minimum over `base`: a flat-lined exporter reporting its floor.
 *
 * The same base, options and seed give the same rows.
 */
export function injectAnomalies(base: readonly ArrayLike<number>[], opts: InjectOptions): InjectedAnomalies {
  const d = base.length;
  const n = base[0]?.length ?? 0;
  if (d === 0 || n === 0) throw new Error('injectAnomalies: base data is empty');
  const kinds = opts.kinds ?? INJECTED_KINDS;
  if (kinds.length === 0) throw new Error('injectAnomalies: at least one kind is required');
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new Error('injectAnomalies: count must be ≥ 0');
  const [lo, hi] = opts.sigmas ?? [4, 8];
  const rng = new Rng(opts.seed);
  const stats = base.map((c) => {
    const { mean, std } = meanStd(c);
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (c[i] < min) min = c[i];
    return { mean, std: std > 0 ? std : 1, min };
  });
  const columns = base.map(() => new Float64Array(opts.count));
  const out: InjectedKind[] = [];
  const per = Math.floor(opts.count / kinds.length);
  const extra = opts.count % kinds.length;
  let row = 0;
  kinds.forEach((kind, ki) => {
    const m = per + (ki < extra ? 1 : 0);
    for (let j = 0; j < m; j++, row++) {
      const b = rng.int(n);
      for (let f = 0; f < d; f++) columns[f][row] = base[f][b];
      if (kind === 'marginal') {
        const f = rng.int(d);
        const k = lo + rng.next() * (hi - lo);
        const sign = rng.next() < 0.5 ? -1 : 1;
        columns[f][row] = stats[f].mean + sign * k * stats[f].std;
      } else if (kind === 'correlation') {
        for (const f of pickFeatures(rng, d, Math.max(1, Math.ceil(d / 2)))) {
          // A different row than the base (when there is one), so the value really moves.
          let r = rng.int(n);
          if (n > 1) while (r === b) r = rng.int(n);
          columns[f][row] = base[f][r];
        }
      } else {
        for (const f of pickFeatures(rng, d, Math.max(1, Math.ceil(d / 3)))) columns[f][row] = stats[f].min;
      }
      out.push(kind);
    }
  });
  return { columns, kinds: out };
}

/** k distinct feature indices out of d, uniformly (partial Fisher-Yates). */
function pickFeatures(rng: Rng, d: number, k: number): number[] {
  const idx = Array.from({ length: d }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(d - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, k);
}

/**
 * A seeded split of n row indices into train and holdout (the holdout gets
 * round(n·share) rows, at least 1 when n ≥ 2), each in ascending order.
 */
export function splitHoldout(
  n: number,
  share: number,
  seed: number,
): { train: Int32Array; holdout: Int32Array } {
  if (!(share > 0 && share < 1)) throw new Error('holdout share must be in (0, 1)');
  const h = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * share)));
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed ^ 0x401d);
  for (let i = 0; i < h; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return { holdout: idx.slice(0, h).sort(), train: idx.slice(h).sort() };
}
