import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPackageDir } from '#app/package-dir.ts';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage } from '#core/model/build.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { type EngineName, loadModel } from '#core/scoring.ts';
import type { BenchModule, BenchTable } from './types.ts';
import { fmt, median, percentile, timeCalls } from './util.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The 10-feature / 100-tree forest of the issue, trained on seeded normals. */
export function tenFeatureModel(): ModelPackage {
  const rng = new Rng(10);
  const cols = Array.from({ length: 10 }, () => Float64Array.from({ length: 5000 }, () => rng.normal()));
  const forest = trainIsolationForest(cols, { nEstimators: 100, maxSamples: 256, seed: 3 });
  return buildIsolationForestPackage({
    name: 'bench10',
    features: cols.map((_, i) => `f${i}`),
    columns: cols,
    forest,
    contamination: 'auto',
    createdAt: '2026-01-01T00:00:00.000Z',
    dataSha256: '0'.repeat(64),
  });
}

function sampleRows(pkg: ModelPackage, n: number): Float32Array {
  const f = pkg.manifest.features;
  const ref = pkg.manifest.reference.features;
  const x = new Float32Array(n * f.length);
  const m = ref[f[0]].sample.length;
  for (let r = 0; r < n; r++)
    for (let k = 0; k < f.length; k++) x[r * f.length + k] = ref[f[k]].sample[r % m];
  return x;
}

async function engineRows(name: string, pkg: ModelPackage): Promise<Array<Array<string | number>>> {
  const rows: Array<Array<string | number>> = [];
  for (const engine of ['onnx', 'fast'] as EngineName[]) {
    const model = await loadModel(pkg, { engine });
    const nf = pkg.manifest.features.length;
    const batch = sampleRows(pkg, 1000);
    let i = 0;
    const single = await timeCalls(() => {
      const r = i++ % 1000;
      return model.engine.score(batch.subarray(r * nf, (r + 1) * nf), 1);
    }, 3000);
    const batchTimes = await timeCalls(() => model.engine.score(batch, 1000), 50, 10);
    rows.push([
      name,
      engine === 'fast' ? 'tree fast path' : 'onnxruntime-web (baseline)',
      fmt(percentile(single, 50)),
      fmt(percentile(single, 99)),
      fmt(median(batchTimes) / 1000, 3),
    ]);
  }
  return rows;
}

export const run: BenchModule = async () => {
  const defaultPkg = await readPackageDir(path.join(ROOT, 'models/default'));
  const speed: BenchTable = {
    title: 'Scoring: onnxruntime-web vs tree fast path (same run, same rows)',
    columns: ['model', 'engine', '1-row p50 µs', '1-row p99 µs', 'batch-1000 µs/row'],
    rows: [
      ...(await engineRows('default (5 feat)', defaultPkg)),
      ...(await engineRows('10 feat × 100 trees', tenFeatureModel())),
    ],
    notes: ['targets (fast path): batch ≤ 3 µs/row, 1-row p99 ≤ 100 µs'],
  };
  return [speed];
};
