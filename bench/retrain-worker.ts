/**
 * One training-size measurement in its own process (so peak RSS is this size's alone):
 * what the Train step does for `n` rows × `d` features — parse the dataset CSV, split off the
 * holdout, train 100 trees, build the package (ONNX + reference sample + covers) — with the
 * time of each phase and the process's peak RSS. `--no-csv` starts from columns in memory.
 * Prints one JSON line.
 */
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage } from '#core/model/build.ts';
import { datasetFromCsv, datasetToCsv, selectRows } from '#core/retrain/dataset.ts';
import { splitHoldout } from '#core/retrain/inject.ts';

const n = Number(process.argv[2]);
const d = Number(process.argv[3] ?? 10);
const csv = !process.argv.includes('--no-csv');
const rng = new Rng(1);
const features = Array.from({ length: d }, (_, i) => `f${i}`);
const columns = features.map(() => Float64Array.from({ length: n }, () => rng.normal()));
const t = (f: () => void) => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};
let ds = { features, columns, rows: n };
let parseS = 0;
if (csv) {
  const text = datasetToCsv(ds);
  parseS = t(() => {
    ds = datasetFromCsv(text) as typeof ds;
  });
}
let train = ds;
const splitS = t(() => {
  train = selectRows(ds, splitHoldout(n, 0.2, 7).train) as typeof ds;
});
let forest: ReturnType<typeof trainIsolationForest> | undefined;
const trainS = t(() => {
  forest = trainIsolationForest(train.columns, { nEstimators: 100, maxSamples: 256, seed: 7 });
});
const packageS = t(() => {
  if (!forest) return;
  buildIsolationForestPackage({
    name: 'bench',
    features,
    columns: train.columns,
    forest,
    contamination: 'auto',
    createdAt: new Date(0).toISOString(),
    dataSha256: '0'.repeat(64),
  });
});
process.stdout.write(
  `${JSON.stringify({ n, d, csv, parseS, splitS, trainS, packageS, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
