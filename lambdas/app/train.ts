import { createHash } from 'node:crypto';
import { parseNumericCsv } from '#core/csv.ts';
import { averagePrecision, rocAuc } from '#core/evaluation.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage, trainingScores } from '#core/model/build.ts';
import type { ModelPackage } from '#core/model/manifest.ts';

/**
 * Training input that cannot be used as given (a column choice that would silently train on a
 * label or a non-numeric column, a name that is not a column): the CLI reports it as a usage
 * mistake, with the flag that resolves it.
 */
export class TrainingInputError extends Error {}

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
  /** Told as each stage ends: parse, build, score (write is the caller's). */
  readonly onStage?: (stage: 'parse' | 'build' | 'score', detail: string) => void;
}

/** Column names that usually hold the answer, not a measurement: never features by default. */
export const LABEL_LIKE =
  /^(labels?|targets?|class|y|is_?anomal(y|ous)|anomal(y|ous)|outliers?|is_?outlier|ground_?truth|truth|faults?|incidents?)$/i;

/** Names a JSON object cannot hold as an ordinary key (manifest reference records are keyed by feature). */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Which columns become features. With `--features`, exactly those (each must exist and be
 * numeric). Without, every column except `--label` — but a label-like or non-numeric column
 * is refused rather than silently trained on: name the features, or the label, to go on.
 * @throws TrainingInputError naming the columns and the flag that resolves it
 */
export function chooseFeatures(
  csv: string,
  opts: { features?: readonly string[]; label?: string },
): string[] {
  const header = parseNumericCsv(csv.split(/\r?\n/, 1)[0] ?? '').columns;
  if (opts.label !== undefined && !header.includes(opts.label)) {
    throw new TrainingInputError(`--label '${opts.label}' is not a column (columns: ${header.join(', ')})`);
  }
  const reserved = (opts.features ?? header).filter((c) => RESERVED.has(c));
  if (reserved.length) {
    throw new TrainingInputError(
      `column '${reserved[0]}' cannot be a feature: the name is reserved in JSON objects, so requests could never carry it. Rename the column in the CSV header${opts.features ? ' or leave it out of --features' : ', or name the features with --features'}.`,
    );
  }
  if (opts.features) {
    for (const f of opts.features) {
      if (!header.includes(f))
        throw new TrainingInputError(
          `--features names '${f}', which is not a column (columns: ${header.join(', ')})`,
        );
      if (f === opts.label)
        throw new TrainingInputError(`'${f}' cannot be both --label and one of --features`);
    }
    return [...opts.features];
  }
  const candidates = header.filter((c) => c !== opts.label);
  const labelLike = candidates.filter((c) => LABEL_LIKE.test(c));
  const nonNumeric = nonNumericColumns(
    csv,
    candidates.filter((c) => !labelLike.includes(c)),
  );
  if (labelLike.length || nonNumeric.length) {
    const why = [
      ...labelLike.map((c) => `'${c}' looks like a label (pass --label ${c} to use it for evaluation)`),
      ...nonNumeric.map((c) => `'${c}' is not numeric`),
    ];
    throw new TrainingInputError(
      `refusing to train on every column: ${why.join('; ')}. Name the feature columns with --features a,b,c.`,
    );
  }
  if (candidates.length === 0) throw new TrainingInputError('the CSV has no feature columns besides --label');
  return candidates;
}

/** Columns holding a value that is not a number (found by parsing, one offending column at a time). */
function nonNumericColumns(csv: string, columns: readonly string[]): string[] {
  const bad: string[] = [];
  let left = [...columns];
  while (left.length) {
    try {
      parseNumericCsv(csv, left);
      return bad;
    } catch (e) {
      const m = /column '([^']*)': .* is not a number/.exec((e as Error).message);
      if (!m || !left.includes(m[1])) throw e;
      bad.push(m[1]);
      left = left.filter((c) => c !== m[1]);
    }
  }
  return bad;
}

/**
 * Trains an isolation forest on a CSV (header row; feature columns chosen by `chooseFeatures`)
 * and builds its model package. With a label column, ROC AUC and average precision go into
 * the manifest.
 */
export function trainFromCsv(csv: string, opts: TrainFromCsvOptions): ModelPackage {
  const features = chooseFeatures(csv, opts);
  const table = parseNumericCsv(csv, opts.label ? [...features, opts.label] : features);
  const columns = table.data.slice(0, features.length);
  columns.forEach((c, k) => {
    const bad = c.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new Error(`CSV line ${bad + 2}, column '${features[k]}': a finite number is required`);
  });
  opts.onStage?.(
    'parse',
    `${table.rows} rows, features ${features.join(', ')}${opts.label ? `, label ${opts.label}` : ''}`,
  );
  const forest = trainIsolationForest(columns, {
    nEstimators: opts.nEstimators,
    maxSamples: opts.maxSamples,
    seed: opts.seed,
    onProgress: opts.onProgress,
  });
  opts.onStage?.('build', `${opts.nEstimators ?? 100} trees`);
  const metrics: Record<string, number> = {};
  // Scored once, and only when something reads the scores: the labelled metrics here and the
  // contamination threshold (an 'auto' threshold is a constant).
  const contamination = opts.contamination ?? 'auto';
  const scores = opts.label || contamination !== 'auto' ? trainingScores(forest, columns) : undefined;
  if (opts.label && scores) {
    const labels = table.data[features.length];
    metrics.rocAuc = rocAuc(scores, labels);
    metrics.averagePrecision = averagePrecision(scores, labels);
    metrics.labelledRows = table.rows;
  }
  opts.onStage?.(
    'score',
    scores
      ? `${table.rows} training rows scored`
      : "skipped (threshold 'auto' and no --label need no training scores)",
  );
  return buildIsolationForestPackage({
    name: opts.name,
    features,
    columns,
    forest,
    contamination,
    createdAt: opts.createdAt ?? new Date().toISOString(),
    dataSha256: createHash('sha256').update(csv).digest('hex'),
    metrics,
    scores,
  });
}
