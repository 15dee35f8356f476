import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchModule, BenchTable } from './types.ts';
import { fmt } from './util.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

interface Prepared {
  n: number;
  writeS: number;
  fileMb: number;
  peakRssMb: number;
}
interface Trained {
  n: number;
  readS: number;
  splitS: number;
  trainS: number;
  packageS: number;
  peakRssMb: number;
}

/** Lambda's ceiling, and the share of it a step may use (the rest is margin for loaded hosts and wider data). */
const LAMBDA = { seconds: 900, memoryMb: 10_240, margin: 0.5 };

/** Sizes: `BENCH_TRAIN_SIZES=10000,100000` for a short run; 10M only with `BENCH_TRAIN_10M=1`. */
const sizes = (): number[] => {
  const given = process.env.BENCH_TRAIN_SIZES?.split(',').map(Number);
  if (given?.length && given.every((n) => Number.isInteger(n) && n > 0)) return given;
  return [10_000, 100_000, 1_000_000, ...(process.env.BENCH_TRAIN_10M ? [10_000_000] : [])];
};

const worker = async <T>(args: string[]): Promise<T> => {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/retrain-worker.ts'), ...args],
    { cwd: ROOT, maxBuffer: 1 << 20, timeout: 1_800_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T;
};

/**
 * Retraining by dataset size (10 features, 100 trees, ψ = 256), each step in a fresh process so
 * its peak RSS is its own: PrepareData's write of the run's dataset (Parquet), then the Train
 * step on it (read, split, train, package). Sizes `lambdaMaxRows` (lib/config.ts): the Train
 * step must fit Lambda's 900 s / 10,240 MB with half of it to spare.
 */
export const runRetrain: BenchModule = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-retrain-'));
  const rows: [Prepared, Trained][] = [];
  try {
    for (const n of sizes()) {
      const file = path.join(dir, `dataset-${n}.parquet`);
      const prepared = await worker<Prepared>(['prepare', String(n), '10', file]);
      const trained = await worker<Trained>(['train', file]);
      await rm(file);
      rows.push([prepared, trained]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const total = (t: Trained) => t.readS + t.splitS + t.trainS + t.packageS;
  // Time and memory grow about linearly in n (training itself is O(trees·ψ·log ψ) plus O(n)
  // copies and per-feature sorts): extrapolate from the largest measured size to the budget.
  const [lastP, lastT] = rows.at(-1) as [Prepared, Trained];
  const bySeconds = (LAMBDA.seconds * LAMBDA.margin * lastT.n) / total(lastT);
  const byMemory = (LAMBDA.memoryMb * LAMBDA.margin * lastT.n) / lastT.peakRssMb;
  const load = (await readFile('/proc/loadavg', 'utf8')).trim();
  const table: BenchTable = {
    title: 'Retraining by dataset size (10 features, 100 trees, ψ = 256; each step in its own process)',
    columns: [
      'rows',
      'PrepareData: write Parquet s',
      'file MB',
      'peak RSS MB',
      'Train: read s',
      'split s',
      'train s',
      'package s',
      'total s',
      'peak RSS MB',
    ],
    rows: rows.map(([p, t]) => [
      t.n.toLocaleString('en'),
      fmt(p.writeS),
      fmt(p.fileMb, 1),
      fmt(p.peakRssMb, 0),
      fmt(t.readS),
      fmt(t.splitS),
      fmt(t.trainS),
      fmt(t.packageS),
      fmt(total(t)),
      fmt(t.peakRssMb, 0),
    ]),
    notes: [
      `Load average (1, 5, 15 min …): ${load}. Shared machine: absolute seconds are noisy; the growth with n is the signal.`,
      `Train step within ${LAMBDA.margin * 100} % of 900 s / 10,240 MB, extrapolated linearly from ${lastT.n.toLocaleString('en')} rows: ` +
        `≈ ${Math.round(bySeconds).toLocaleString('en')} rows by time, ≈ ${Math.round(byMemory).toLocaleString('en')} rows by memory ` +
        `(PrepareData's write at that size: ${fmt(lastP.writeS)} s, ${fmt(lastP.peakRssMb, 0)} MB).`,
      'lambdaMaxRows (lib/config.ts) is 1,000,000; README "Benchmarks" says why.',
    ],
  };
  return [table];
};

export { runRetrain as run };
