import { Rng } from '#core/forest/rng.ts';

/** Features of the shipped default model, in column order. */
export const DEFAULT_FEATURES = ['cpu', 'memory', 'network', 'disk_io', 'latency'] as const;

export interface SyntheticMetrics {
  readonly features: readonly string[];
  /** Column-major values in `features` order. */
  readonly columns: Float64Array[];
  /** 1 = injected anomaly. */
  readonly labels: Float64Array;
  /** Kind of each injected anomaly row ('' for normal rows). */
  readonly kinds: string[];
}

export interface SyntheticOptions {
  /** Rows, one a minute. @default 10080 (one week) */
  readonly rows?: number;
  /** @default 2026 */
  readonly seed?: number;
  /** Share of rows turned into anomalies. @default 0.05 */
  readonly anomalyRate?: number;
  /** Added to every feature's level, in units of that feature's noise std (for drift tests). @default 0 */
  readonly shift?: number;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
const clip = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Seeded synthetic infrastructure metrics: a latent daily load curve drives
 * correlated cpu (%), memory (%), network (Mbps), disk_io (MB/s) and latency
 * (ms). About `anomalyRate` of the rows are replaced by anomalies of three
 * kinds, in short episodes: spikes (one metric jumps), stuck values (a metric
 * freezes at an implausible level) and correlated shifts (the metrics stop
 * moving together: heavy cpu with idle network, or the reverse).
 */
export function syntheticMetrics(opts: SyntheticOptions = {}): SyntheticMetrics {
  const n = opts.rows ?? 10_080;
  const rng = new Rng(opts.seed ?? 2026);
  const rate = opts.anomalyRate ?? 0.05;
  const shift = opts.shift ?? 0;
  const cols = DEFAULT_FEATURES.map(() => new Float64Array(n));
  const labels = new Float64Array(n);
  const kinds: string[] = new Array(n).fill('');
  const [cpu, memory, network, diskIo, latency] = cols;
  for (let t = 0; t < n; t++) {
    const phase = (2 * Math.PI * (t % 1440)) / 1440;
    const load = clip(0.5 + 0.3 * Math.sin(phase - Math.PI / 2) + 0.05 * rng.normal(), 0, 1);
    cpu[t] = clip(20 + 60 * load + 4 * (rng.normal() + shift), 0, 100);
    memory[t] = clip(40 + 25 * load + 0.1 * (cpu[t] - 50) + 3 * (rng.normal() + shift), 0, 100);
    network[t] = Math.max(0, 200 + 600 * load + 40 * (rng.normal() + shift));
    diskIo[t] = Math.max(0, 50 + 100 * load + 15 * (rng.normal() + shift));
    latency[t] = Math.max(1, 20 + 30 * load * load + 3 * (rng.normal() + shift));
  }
  // Anomaly episodes of 1-8 rows until the target share is reached.
  const target = Math.round(n * rate);
  let injected = 0;
  while (injected < target) {
    const len = Math.min(1 + rng.int(8), target - injected);
    const start = rng.int(n - len);
    if (labels.subarray(start, start + len).some((v) => v === 1)) continue;
    const kind = ['spike', 'stuck', 'correlated_shift'][rng.int(3)];
    const f = rng.int(DEFAULT_FEATURES.length);
    const stuckAt = [
      2 + rng.next() * 3,
      97 + rng.next() * 3,
      5 + rng.next() * 20,
      400 + rng.next() * 100,
      150,
    ][f];
    const heavyCpu = rng.next() < 0.5;
    for (let t = start; t < start + len; t++) {
      if (kind === 'spike') {
        const jump = 3 + 3 * rng.next();
        if (f === 0) cpu[t] = clip(cpu[t] + 8 * jump + 10, 0, 100);
        else if (f === 1) memory[t] = clip(memory[t] + 6 * jump + 10, 0, 100);
        else if (f === 2) network[t] = network[t] * (2 + jump / 2);
        else if (f === 3) diskIo[t] = diskIo[t] * (2.5 + jump / 2);
        else latency[t] = latency[t] * (3 + jump);
      } else if (kind === 'stuck') {
        cols[f][t] = stuckAt;
      } else if (heavyCpu) {
        cpu[t] = 88 + 10 * rng.next();
        network[t] = 60 + 60 * rng.next();
        latency[t] = 18 + 6 * rng.next();
      } else {
        cpu[t] = 8 + 8 * rng.next();
        network[t] = 850 + 250 * rng.next();
        diskIo[t] = 160 + 60 * rng.next();
      }
      labels[t] = 1;
      kinds[t] = kind;
    }
    injected += len;
  }
  for (const c of cols) for (let t = 0; t < n; t++) c[t] = round2(c[t]);
  return { features: [...DEFAULT_FEATURES], columns: cols, labels, kinds };
}
