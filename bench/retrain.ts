import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchModule, BenchTable } from './types.ts';
import { fmt } from './util.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

interface Row {
  n: number;
  d: number;
  csv: boolean;
  parseS: number;
  splitS: number;
  trainS: number;
  packageS: number;
  peakRssMb: number;
}

/** Lambda's ceiling, and the share of it the Lambda branch may use (the rest is margin). */
const LAMBDA = { seconds: 900, memoryMb: 10_240, margin: 0.5 };

/**
 * Retraining: the Train step's cost by dataset size, each size in a fresh process (peak RSS).
 * The 10M row runs only with BENCH_TRAIN_10M=1 (minutes, and it starts from columns in
 * memory: a 10M × 10 CSV is larger than V8's largest string, which is itself a finding).
 */
export const runRetrain: BenchModule = async () => {
  const sizes = [10_000, 100_000, 1_000_000, ...(process.env.BENCH_TRAIN_10M ? [10_000_000] : [])];
  const rows: Row[] = [];
  for (const n of sizes) {
    const args = ['--import', 'tsx', path.join(ROOT, 'bench/retrain-worker.ts'), String(n), '10'];
    if (n > 1_000_000) args.push('--no-csv');
    const { stdout } = await run(process.execPath, args, {
      cwd: ROOT,
      maxBuffer: 1 << 20,
      timeout: 1_800_000,
    });
    rows.push(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Row);
  }
  const total = (r: Row) => r.parseS + r.splitS + r.trainS + r.packageS;
  // Time and memory grow about linearly in n (training itself is O(trees·ψ·log ψ) + O(n) copies):
  // extrapolate from the largest measured size to the budget.
  const last = rows.at(-1) as Row;
  const bySeconds = (LAMBDA.seconds * LAMBDA.margin * last.n) / total(last);
  const byMemory = (LAMBDA.memoryMb * LAMBDA.margin * last.n) / last.peakRssMb;
  const table: BenchTable = {
    title: 'Retraining: Train step by dataset size (100 trees, ψ = 256, 10 features)',
    columns: ['rows', 'parse CSV s', 'split s', 'train s', 'package s', 'total s', 'peak RSS MB'],
    rows: rows.map((r) => [
      r.n.toLocaleString('en'),
      r.csv ? fmt(r.parseS) : 'n/a',
      fmt(r.splitS),
      fmt(r.trainS),
      fmt(r.packageS),
      fmt(total(r)),
      fmt(r.peakRssMb, 0),
    ]),
    notes: [
      `Load average: ${readFileSync('/proc/loadavg', 'utf8').trim()} (shared machine: absolute seconds are noisy; the growth with n is the signal).`,
      `Lambda budget at ${LAMBDA.margin * 100}% of 900 s / 10,240 MB, extrapolated linearly from ${last.n.toLocaleString('en')} rows: ` +
        `≈ ${Math.round(bySeconds).toLocaleString('en')} rows by time, ≈ ${Math.round(byMemory).toLocaleString('en')} rows by memory.`,
      'lambdaMaxRows (lib/config.ts) is 1,000,000: a 5× margin under the extrapolated limit, and below the size at which ' +
        'the dataset CSV approaches V8’s maximum string length; larger datasets go to the EKS branch.',
    ],
  };
  return [table];
};

export { runRetrain as run };
