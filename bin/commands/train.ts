import { readFile } from 'node:fs/promises';
import { writePackageDir } from '#app/package-dir.ts';
import { TrainingInputError, trainFromCsv } from '#app/train.ts';
import { intFlag, listFlag, parseCli, runCommand, UsageError } from './cli.ts';

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
    const pkg = asUsage(() =>
      trainFromCsv(csv, {
        name: values.name ?? 'model',
        features: listFlag(values.features, 'features'),
        label: values.label,
        nEstimators,
        maxSamples,
        seed,
        contamination,
        onProgress: tty ? progressBar('build') : undefined,
        onStage: stage,
      }),
    );
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

/** Runs `fn`, reporting its training-input refusals as usage mistakes (exit 2). */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TrainingInputError) throw new UsageError(e.message);
    throw e;
  }
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
