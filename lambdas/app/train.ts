import { createHash } from 'node:crypto';
import { parseNumericCsv } from '#core/csv.ts';
import { averagePrecision, rocAuc } from '#core/evaluation.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage, trainingScores } from '#core/model/build.ts';
import type { ModelPackage } from '#core/model/manifest.ts';

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
