import type { Dataset } from '#core/retrain/dataset.ts';

/** A dataset from rows written out by hand (row-major, as a reader checks them). */
export function fromRows(features: string[], rows: number[][], labels?: number[]): Dataset {
  return {
    features,
    columns: features.map((_, k) => Float64Array.from(rows, (r) => r[k])),
    labels: labels ? Float64Array.from(labels) : undefined,
    rows: rows.length,
  };
}

/** AUC by definition over all positive/negative pairs (ties count ½). */
export function bruteAuc(pos: ArrayLike<number>, neg: ArrayLike<number>): number {
  let num = 0;
  for (let i = 0; i < pos.length; i++)
    for (let j = 0; j < neg.length; j++) num += pos[i] > neg[j] ? 1 : pos[i] === neg[j] ? 0.5 : 0;
  return num / (pos.length * neg.length);
}

/** sup |F_a − F_b| by definition: both ECDFs evaluated at every pooled point. */
export function bruteKs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ecdf = (s: ArrayLike<number>, x: number) => {
    let k = 0;
    for (let i = 0; i < s.length; i++) if (s[i] <= x) k++;
    return k / s.length;
  };
  let d = 0;
  for (const x of [...Array.from(a), ...Array.from(b)]) d = Math.max(d, Math.abs(ecdf(a, x) - ecdf(b, x)));
  return d;
}
