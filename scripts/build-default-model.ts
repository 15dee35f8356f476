/**
 * Regenerates models/default deterministically: synthetic data (data.csv,
 * with labels) → isolation forest → model package. `npm run build:model`.
 * A test rebuilds into a temp dir and compares bytes with the committed files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePackageDir } from '#app/package-dir.ts';
import { trainFromCsv } from '#app/train.ts';
import { toCsv } from '#core/csv.ts';
import { syntheticMetrics } from '../models/synthetic.ts';

/** Fixed so rebuilds are byte-identical. */
export const DEFAULT_MODEL_CREATED_AT = '2026-11-21T00:00:00.000Z';

export async function buildDefaultModel(outDir: string): Promise<void> {
  const data = syntheticMetrics();
  const csv = toCsv([...data.features, 'label'], [...data.columns, data.labels]);
  const pkg = trainFromCsv(csv, {
    name: 'default',
    label: 'label',
    nEstimators: 100,
    maxSamples: 256,
    seed: 42,
    contamination: 0.05,
    createdAt: DEFAULT_MODEL_CREATED_AT,
  });
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'data.csv'), csv);
  await writePackageDir(outDir, pkg);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(
    process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../models/default'),
  );
  await buildDefaultModel(out);
  process.stdout.write(`rebuilt ${out}\n`);
}
