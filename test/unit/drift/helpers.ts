import type { Manifest } from '#core/model/manifest.ts';
import { ManifestSchema } from '#core/model/manifest.ts';

/** Seeded uniform generator (mulberry32): reproducible samples without a dependency. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard-normal draws (Box-Muller) scaled to mean/sd. */
export function normal(n: number, seed: number, mean = 0, sd = 1): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    out[i] = mean + sd * r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = mean + sd * r * Math.sin(th);
  }
  return out;
}

/** Equal mixture of N(−d, s) and N(+d, s): mean 0, variance d² + s². */
export function bimodal(n: number, seed: number, d: number, s: number): Float64Array {
  const z = normal(n, seed, 0, s);
  const u = rng(seed + 7919);
  for (let i = 0; i < n; i++) z[i] += u() < 0.5 ? -d : d;
  return z;
}

/** Bootstrap resample (with replacement). */
export function resample(x: ArrayLike<number>, n: number, seed: number): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[Math.floor(u() * x.length)];
  return out;
}

/** numpy-'linear' decile of a sorted array (test-side, naive formula). */
function decile(sorted: number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const j = Math.floor(h);
  return sorted[j] + (sorted[Math.min(j + 1, sorted.length - 1)] - sorted[j]) * (h - j);
}

/** A schema-valid manifest whose reference sample is `reference` (feature → values, row-aligned). */
export function manifestWith(reference: Record<string, ArrayLike<number>>, name = 'cpu-model'): Manifest {
  const features = Object.keys(reference);
  const ref: Manifest['reference']['features'] = {};
  let rows = 0;
  for (const f of features) {
    const sample = Array.from(reference[f]);
    rows = sample.length;
    const sorted = sample.slice().sort((a, b) => a - b);
    const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
    const std = Math.sqrt(sample.reduce((a, b) => a + (b - mean) ** 2, 0) / sample.length);
    ref[f] = {
      sample,
      n: sample.length,
      mean,
      std,
      min: sorted[0],
      max: sorted[sorted.length - 1],
      deciles: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => decile(sorted, i / 10)),
    };
  }
  return ManifestSchema.parse({
    name,
    version: 3,
    algorithm: 'isolation-forest',
    features,
    params: {},
    threshold: 0.6,
    output: { name: 'score', higherIsAnomalous: true, raw: 'raw', rawHigherIsAnomalous: false },
    sha256: 'a'.repeat(64),
    createdAt: '2025-01-01T00:00:00.000Z',
    training: { rows, dataSha256: 'b'.repeat(64), window: null },
    reference: { rows, features: ref },
    metrics: {},
  });
}

/** Rows (`Record<feature, value>[]`) from columns. */
export function rowsOf(columns: Record<string, ArrayLike<number>>): Record<string, number>[] {
  const names = Object.keys(columns);
  const n = names.length ? columns[names[0]].length : 0;
  const rows: Record<string, number>[] = [];
  for (let i = 0; i < n; i++) {
    const r: Record<string, number> = {};
    for (const f of names) r[f] = columns[f][i];
    rows.push(r);
  }
  return rows;
}

/**
 * The families of the calibration checks: `(n, seed, shift)` returns n seeded draws whose mean is
 * moved by `shift` of the family's standard deviation, the way such data moves: a translation for
 * the continuous families, a larger rate for Poisson counts (still integers), and a shift of the
 * underlying load before clipping for CPU %.
 */
export const FAMILIES = {
  /** N(0, 1). */
  normal: (n: number, seed: number, shift = 0) => normal(n, seed, shift),
  /** exp(N(0, 1)) (sd √((e−1)e) ≈ 2.16): skewed, like latencies. */
  lognormal: (n: number, seed: number, shift = 0) =>
    Float64Array.from(normal(n, seed), (z) => Math.exp(z) + shift * Math.sqrt((Math.E - 1) * Math.E)),
  /** Student t with 3 degrees of freedom (sd √3): heavy tails, no 4th moment. */
  t3: (n: number, seed: number, shift = 0) => {
    const z = normal(4 * n, seed);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = z[4 * i + 1] ** 2 + z[4 * i + 2] ** 2 + z[4 * i + 3] ** 2;
      out[i] = z[4 * i] / Math.sqrt(c / 3) + shift * Math.sqrt(3);
    }
    return out;
  },
  /** Poisson(3) by inversion (sd √3): integer counts, heavy ties; shifted as Poisson(3 + shift·√3). */
  poisson: (n: number, seed: number, shift = 0) => {
    const lambda = 3 + shift * Math.sqrt(3);
    const u = rng(seed);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let k = 0;
      let p = Math.exp(-lambda);
      let cdf = p;
      const x = u();
      while (x > cdf && k < 100) {
        k++;
        p *= lambda / k;
        cdf += p;
      }
      out[i] = k;
    }
    return out;
  },
  /** CPU %: N(70, 20) clipped to [0, 100] (≈ 7 % of the mass on 100); shifted before the clip. */
  clipped: (n: number, seed: number, shift = 0) =>
    Float64Array.from(normal(n, seed, 70 + 20 * shift, 20), (v) => Math.min(100, Math.max(0, v))),
} as const;
export type Family = keyof typeof FAMILIES;
