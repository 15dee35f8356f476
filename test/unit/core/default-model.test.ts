import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPackageDir } from '#app/package-dir.ts';
import { parseNumericCsv } from '#core/csv.ts';
import { averagePrecision, rocAuc } from '#core/evaluation.ts';
import { loadModel } from '#core/scoring.ts';
import { buildDefaultModel } from '../../../scripts/build-default-model.ts';

const committed = path.resolve(import.meta.dirname, '../../../models/default');

describe('shipped default model', () => {
  it('is exactly what `npm run build:model` rebuilds (data, ONNX and manifest)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-model-'));
    try {
      await buildDefaultModel(dir);
      for (const f of ['data.csv', 'model.onnx', 'manifest.json']) {
        const a = await readFile(path.join(committed, f));
        const b = await readFile(path.join(dir, f));
        expect(Buffer.compare(a, b), `${f} differs from a rebuild`).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('separates its labelled anomalies when scored through the serving path (ROC AUC > 0.99)', async () => {
    const pkg = await readPackageDir(committed);
    const model = await loadModel(pkg);
    expect(model.engine.name).toBe('fast');
    expect(pkg.manifest.features).toEqual(['cpu', 'memory', 'network', 'disk_io', 'latency']);
    expect(pkg.manifest.reference.rows).toBeLessThanOrEqual(10_000);
    // Score every labelled row as the API would, then measure: nothing taken from the manifest.
    const table = parseNumericCsv(await readFile(path.join(committed, 'data.csv'), 'utf8'));
    const nf = pkg.manifest.features.length;
    const x = new Float32Array(table.rows * nf);
    pkg.manifest.features.forEach((f, k) => {
      const col = table.data[table.columns.indexOf(f)];
      for (let r = 0; r < table.rows; r++) x[r * nf + k] = col[r];
    });
    const { score } = await model.engine.score(x, table.rows);
    const labels = table.data[table.columns.indexOf('label')];
    const auc = rocAuc(score, labels);
    expect(auc).toBeGreaterThan(0.99);
    expect(averagePrecision(score, labels)).toBeGreaterThan(0.9);
    // The figure the README quotes (from the manifest) is the one the served scores give.
    expect(auc).toBeCloseTo(pkg.manifest.metrics.rocAuc, 4);
    // The threshold flags about the contamination share (5 %) of the training rows.
    const flagged = score.filter((v) => v >= pkg.manifest.threshold).length / table.rows;
    expect(flagged).toBeGreaterThan(0.045);
    expect(flagged).toBeLessThan(0.055);
  });

  it('refuses a package whose model.onnx was tampered with', async () => {
    const pkg = await readPackageDir(committed);
    const onnx = Uint8Array.from(pkg.onnx);
    onnx[onnx.length - 10] ^= 0xff;
    const { verifyPackage } = await import('#core/model/package-io.ts');
    expect(() => verifyPackage({ manifest: pkg.manifest, onnx })).toThrow(/sha256/);
  });
});
