import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPackageDir } from '../../../bin/commands/models.ts';
import { loadModel } from '../../../lambdas/core/scoring.ts';
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

  it('verifies, loads on the fast path and separates its labelled anomalies (ROC AUC > 0.95)', async () => {
    const pkg = await readPackageDir(committed);
    const model = await loadModel(pkg);
    expect(model.engine.name).toBe('fast');
    expect(pkg.manifest.features).toEqual(['cpu', 'memory', 'network', 'disk_io', 'latency']);
    expect(pkg.manifest.metrics.rocAuc).toBeGreaterThan(0.95);
    expect(pkg.manifest.reference.rows).toBeLessThanOrEqual(10_000);
  });

  it('refuses a package whose model.onnx was tampered with', async () => {
    const pkg = await readPackageDir(committed);
    const onnx = Uint8Array.from(pkg.onnx);
    onnx[onnx.length - 10] ^= 0xff;
    const { verifyPackage } = await import('../../../lambdas/core/model/package-io.ts');
    expect(() => verifyPackage({ manifest: pkg.manifest, onnx })).toThrow(/sha256/);
  });
});
