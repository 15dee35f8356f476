import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseNumericCsv } from '#core/csv.ts';
import { averagePrecision, rocAuc } from '#core/evaluation.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage, trainingScores } from '#core/model/build.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { PACKAGE_FILES, serializeManifest } from '#core/model/package-io.ts';
import { intFlag, listFlag, parseCli, runCommand, UsageError } from './cli.ts';

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
 * @throws UsageError naming the columns and the flag that resolves it
 */
export function chooseFeatures(
  csv: string,
  opts: { features?: readonly string[]; label?: string },
): string[] {
  const header = parseNumericCsv(csv.split(/\r?\n/, 1)[0] ?? '').columns;
  if (opts.label !== undefined && !header.includes(opts.label)) {
    throw new UsageError(`--label '${opts.label}' is not a column (columns: ${header.join(', ')})`);
  }
  const reserved = (opts.features ?? header).filter((c) => RESERVED.has(c));
  if (reserved.length) {
    throw new UsageError(
      `column '${reserved[0]}' cannot be a feature: the name is reserved in JSON objects, so requests could never carry it. Rename the column in the CSV header${opts.features ? ' or leave it out of --features' : ', or name the features with --features'}.`,
    );
  }
  if (opts.features) {
    for (const f of opts.features) {
      if (!header.includes(f))
        throw new UsageError(
          `--features names '${f}', which is not a column (columns: ${header.join(', ')})`,
        );
      if (f === opts.label) throw new UsageError(`'${f}' cannot be both --label and one of --features`);
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
    throw new UsageError(
      `refusing to train on every column: ${why.join('; ')}. Name the feature columns with --features a,b,c.`,
    );
  }
  if (candidates.length === 0) throw new UsageError('the CSV has no feature columns besides --label');
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
  // Scored once: for the labelled metrics here and for the contamination threshold.
  const scores = trainingScores(forest, columns);
  if (opts.label) {
    const labels = table.data[features.length];
    metrics.rocAuc = rocAuc(scores, labels);
    metrics.averagePrecision = averagePrecision(scores, labels);
    metrics.labelledRows = table.rows;
  }
  opts.onStage?.('score', `${table.rows} training rows scored`);
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

export const TRAIN_USAGE = `Usage: vigil train --data metrics.csv --out dir [options]

Trains an isolation forest on a CSV (header row, numeric columns) and writes a model package.

Options:
  --data <file.csv>         training data (required)
  --out <dir>               package directory to write (required)
  --features <a,b,c>        feature columns, in order (default: every column but --label;
                            label-like or non-numeric columns are refused unless you name these)
  --label <column>          ground-truth column (1 = anomaly): ROC AUC and AP go into the manifest
  --name <name>             model name (default: model)
  --trees <n>               trees in the forest, 1..10000 (default: 100)
  --max-samples <n>         rows drawn per tree, 2..1000000 (default: 256)
  --seed <n>                random seed (default: 42)
  --contamination <c>       'auto' (threshold 0.6) or the expected anomaly share in (0, 0.5]
  --data-dir <dir>          accepted like every command (train reads no twin state)
  -h, --help                this text`;

/** \`vigil train …\` (options in TRAIN_USAGE). */
export async function trainCommand(argv: string[]): Promise<number> {
  return runCommand(TRAIN_USAGE, argv, async () => {
    const { values } = parseCli(argv, {
      data: { type: 'string' },
      out: { type: 'string' },
      features: { type: 'string' },
      label: { type: 'string' },
      name: { type: 'string', default: 'model' },
      trees: { type: 'string', default: '100' },
      'max-samples': { type: 'string', default: '256' },
      seed: { type: 'string', default: '42' },
      contamination: { type: 'string', default: 'auto' },
    });
    if (!values.data) throw new UsageError('--data <file.csv> is required');
    if (!values.out) throw new UsageError('--out <dir> is required');
    let contamination: number | 'auto' = 'auto';
    if (values.contamination !== 'auto') {
      const c = Number(values.contamination);
      if (!(c > 0 && c <= 0.5)) {
        throw new UsageError(
          `--contamination must be 'auto' or a number in (0, 0.5], got '${values.contamination}'`,
        );
      }
      contamination = c;
    }
    const nEstimators = intFlag(values.trees, 'trees', 1, 10_000);
    const maxSamples = intFlag(values['max-samples'], 'max-samples', 2, 1_000_000);
    const seed = intFlag(values.seed, 'seed', 0, 2 ** 32 - 1);
    const csv = await readFile(values.data, 'utf8');
    const tty = process.stderr.isTTY;
    const stage = (name: string, detail: string) => process.stderr.write(`${name}: ${detail}\n`);
    const pkg = trainFromCsv(csv, {
      name: values.name ?? 'model',
      features: listFlag(values.features, 'features'),
      label: values.label,
      nEstimators,
      maxSamples,
      seed,
      contamination,
      onProgress: tty ? progressBar('build') : undefined,
      onStage: stage,
    });
    await writePackageDir(values.out, pkg);
    stage('write', `${values.out} (model.onnx ${pkg.onnx.length} bytes, manifest.json)`);
    const m = pkg.manifest;
    process.stdout.write(
      `wrote ${values.out}: features ${m.features.join(', ')} (${m.features.length}), ${m.training.rows} rows, threshold ${m.threshold.toFixed(4)}` +
        (m.metrics.rocAuc !== undefined
          ? `, ROC AUC ${m.metrics.rocAuc.toFixed(4)}, AP ${m.metrics.averagePrecision.toFixed(4)}`
          : '') +
        '\n',
    );
    return 0;
  });
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
