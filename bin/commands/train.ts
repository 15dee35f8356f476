import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { writePackageDir } from '#app/package-dir.ts';
import { trainFromCsv } from '#app/train.ts';

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
