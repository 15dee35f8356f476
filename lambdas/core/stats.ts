/**
 * Quantile of sorted data with NumPy's default 'linear' method (Hyndman-Fan
 * type 7), including NumPy's two-sided lerp so results match bit for bit:
 * h = (n−1)q, a = s[⌊h⌋], b = s[⌊h⌋+1], g = h − ⌊h⌋;
 * value = a + (b−a)g if g < 0.5, else b − (b−a)(1−g).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const j = Math.floor(h);
  const g = h - j;
  const a = sorted[j];
  const b = sorted[Math.min(j + 1, n - 1)];
  const d = b - a;
  return g < 0.5 ? a + d * g : b - d * (1 - g);
}

/** Mean and sample standard deviation (ddof 1; 0 for n < 2). */
export function meanStd(x: ArrayLike<number>): { mean: number; std: number } {
  const n = x.length;
  if (n === 0) return { mean: Number.NaN, std: 0 };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (x[i] - mean) / (i + 1);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}
