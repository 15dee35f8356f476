/**
 * One training-size measurement in its own process (so peak RSS is this phase's alone), as the
 * retraining steps do it for `n` rows × `d` features:
 *
 * - `prepare <n> <d> <file>`: PrepareData's write of the run's dataset — `n` rows of standard
 *   normals (generated, not timed) serialised as the dataset Parquet file, written to `file`;
 * - `train <file>`: the Train step — read the dataset Parquet, split off the holdout (seeded
 *   20 %), train 100 trees at ψ = 256, build the package (ONNX + reference sample + covers).
 *
 * Prints one JSON line with the time of each phase and the process's peak RSS.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage } from '#core/model/build.ts';
import type { Dataset } from '#core/retrain/dataset.ts';
import { selectRows } from '#core/retrain/dataset.ts';
import { datasetFromParquet, datasetToParquet } from '#core/retrain/dataset-parquet.ts';
import { splitHoldout } from '#core/retrain/inject.ts';

const seconds = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const out = await f();
  return [out, (performance.now() - t0) / 1000];
};
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

const [mode, ...args] = process.argv.slice(2);
if (mode === 'prepare') {
  const [n, d, file] = [Number(args[0]), Number(args[1] ?? 10), String(args[2])];
  const rng = new Rng(1);
  const features = Array.from({ length: d }, (_, i) => `f${i}`);
  const columns = features.map(() => Float64Array.from({ length: n }, () => rng.normal()));
  const [bytes, writeS] = await seconds(() => datasetToParquet({ features, columns, rows: n }));
  await writeFile(file, bytes);
  process.stdout.write(
    `${JSON.stringify({ n, d, writeS, fileMb: bytes.length / 2 ** 20, peakRssMb: peakRssMb() })}\n`,
  );
} else if (mode === 'train') {
  const bytes = new Uint8Array(await readFile(String(args[0])));
  const [ds, readS] = await seconds(() => datasetFromParquet(bytes));
  const [train, splitS] = await seconds((): Dataset => selectRows(ds, splitHoldout(ds.rows, 0.2, 7).train));
  const [forest, trainS] = await seconds(() =>
    trainIsolationForest(train.columns, { nEstimators: 100, maxSamples: 256, seed: 7 }),
  );
  const [, packageS] = await seconds(() =>
    buildIsolationForestPackage({
      name: 'bench',
      features: train.features,
      columns: train.columns,
      forest,
      contamination: 'auto',
      createdAt: new Date(0).toISOString(),
      dataSha256: '0'.repeat(64),
    }),
  );
  process.stdout.write(
    `${JSON.stringify({ n: ds.rows, readS, splitS, trainS, packageS, peakRssMb: peakRssMb() })}\n`,
  );
} else {
  process.stderr.write('usage: retrain-worker.ts prepare <n> <d> <file> | train <file>\n');
  process.exitCode = 2;
}
