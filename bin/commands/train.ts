import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseNumericCsv } from '#core/csv.ts';
import { averagePrecision, rocAuc } from '#core/evaluation.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage, trainingScores } from '#core/model/build.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { PACKAGE_FILES, serializeManifest } from '#core/model/package-io.ts';

export interface TrainFromCsvOptions {
  readonly name: string;
  readonly features?: readonly string[];
  readonly label?: string;
  readonly nEstimators?: number;
  readonly maxSamples?: number;
  readonly seed?: number;
  readonly contamination?: number | 'auto';
  readonly createdAt?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Trains an isolation forest on a CSV (header row; every column is a feature
 * unless `features` or `label` say otherwise) and builds its model package.
 * With a label column, ROC AUC and average precision go into the manifest.
 */
export function trainFromCsv(csv: string, opts: TrainFromCsvOptions): ModelPackage {
  const header = parseNumericCsv(csv.split(/\r?\n/, 1)[0] ?? '').columns;
  const features = opts.features ?? header.filter((c) => c !== opts.label);
  if (features.length === 0) throw new Error('no feature columns');
  const table = parseNumericCsv(csv, opts.label ? [...features, opts.label] : features);
  const columns = table.data.slice(0, features.length);
  columns.forEach((c, k) => {
    const bad = c.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new Error(`CSV line ${bad + 2}, column '${features[k]}': a finite number is required`);
  });
  const forest = trainIsolationForest(columns, {
    nEstimators: opts.nEstimators,
    maxSamples: opts.maxSamples,
    seed: opts.seed,
    onProgress: opts.onProgress,
  });
  const metrics: Record<string, number> = {};
  // Scored once: for the labelled metrics here and for the contamination threshold.
  const scores = opts.label ? trainingScores(forest, columns) : undefined;
  if (opts.label && scores) {
    const labels = table.data[features.length];
    metrics.rocAuc = rocAuc(scores, labels);
    metrics.averagePrecision = averagePrecision(scores, labels);
    metrics.labelledRows = table.rows;
  }
  return buildIsolationForestPackage({
    name: opts.name,
    features,
    columns,
    forest,
    contamination: opts.contamination ?? 'auto',
    createdAt: opts.createdAt ?? new Date().toISOString(),
    dataSha256: createHash('sha256').update(csv).digest('hex'),
    metrics,
    scores,
  });
}

/** Writes a package as a directory: model.onnx + manifest.json. */
export async function writePackageDir(dir: string, pkg: ModelPackage): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, PACKAGE_FILES.model), pkg.onnx);
  await writeFile(path.join(dir, PACKAGE_FILES.manifest), serializeManifest(pkg.manifest));
}

/** `vigil train --data metrics.csv --out dir [--features a,b] [--label col] [--name n] [--trees 100] [--max-samples 256] [--seed 42] [--contamination auto|0.05]` */
export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      features: { type: 'string' },
      label: { type: 'string' },
      name: { type: 'string', default: 'model' },
      trees: { type: 'string', default: '100' },
      'max-samples': { type: 'string', default: '256' },
      seed: { type: 'string', default: '42' },
      contamination: { type: 'string', default: 'auto' },
    },
  });
  if (!values.data || !values.out) {
    process.stderr.write(
      'usage: vigil train --data metrics.csv --out dir [--features a,b,c] [--label col]\n',
    );
    return 2;
  }
  const contamination = values.contamination === 'auto' ? 'auto' : Number(values.contamination);
  const csv = await readFile(values.data, 'utf8');
  const tty = process.stderr.isTTY;
  const pkg = trainFromCsv(csv, {
    name: values.name,
    features: values.features?.split(',').map((s) => s.trim()),
    label: values.label,
    nEstimators: Number(values.trees),
    maxSamples: Number(values['max-samples']),
    seed: Number(values.seed),
    contamination,
    onProgress: tty ? progressBar('training') : undefined,
  });
  await writePackageDir(values.out, pkg);
  const m = pkg.manifest;
  process.stdout.write(
    `wrote ${values.out}: ${m.features.length} features, ${m.training.rows} rows, threshold ${m.threshold.toFixed(4)}` +
      (m.metrics.rocAuc !== undefined
        ? `, ROC AUC ${m.metrics.rocAuc.toFixed(4)}, AP ${m.metrics.averagePrecision.toFixed(4)}`
        : '') +
      '\n',
  );
  return 0;
}

/** A one-line progress bar on stderr (only used on a terminal). */
export function progressBar(label: string): (done: number, total: number) => void {
  return (done, total) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done === total) process.stderr.write('\n');
  };
}
