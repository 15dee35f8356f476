import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPackageDir } from '#app/package-dir.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { sha256Hex } from '#core/model/package-io.ts';
import { exportOnnx } from '#core/onnx/export.ts';
import { onnx } from '#core/onnx/proto.ts';
import { loadModel } from '#core/scoring.ts';
import { gridRows, randomEnsemble } from '../../helpers/random-trees.ts';

describe('engine choice and the fast path score', () => {
  let pkg: ModelPackage;
  beforeAll(async () => {
    pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
  });

  it('takes the score transform from the graph, not from manifest params', async () => {
    // params are not covered by any hash; a wrong maxSamples must not change served scores.
    const edited: ModelPackage = {
      ...pkg,
      manifest: { ...pkg.manifest, params: { ...pkg.manifest.params, maxSamples: 32 } },
    };
    const fast = await loadModel(edited, { engine: 'fast' });
    const ort = await loadModel(edited, { engine: 'onnx' });
    expect(fast.engine.name).toBe('fast');
    expect(ort.engine.name).toBe('onnx');
    const rows = 200;
    const x = new Float32Array(rows * 5);
    const ref = pkg.manifest.reference.features;
    pkg.manifest.features.forEach((f, k) => {
      for (let r = 0; r < rows; r++) x[r * 5 + k] = ref[f].sample[r] * (r % 5 === 0 ? 2 : 1);
    });
    const a = await fast.engine.score(x, rows);
    const b = await ort.engine.score(x, rows);
    for (let i = 0; i < rows; i++) expect(Math.abs(a.score[i] - b.score[i])).toBeLessThanOrEqual(1e-5);
  });

  /** A package around a bare ensemble graph whose output is `out`, optionally through a Sigmoid. */
  const bare = (sigmoid: boolean): ModelPackage => {
    const t = randomEnsemble({ seed: 50, nFeatures: 5, nTrees: 6, maxDepth: 4 });
    let bytes = exportOnnx(t, { rawOutputName: 'raw' });
    if (sigmoid) {
      const m = onnx.ModelProto.decode(bytes);
      m.graph?.node?.push(
        onnx.NodeProto.create({ opType: 'Sigmoid', input: ['raw'], output: ['prob'], name: 'S' }),
      );
      m.graph?.output?.push(onnx.ValueInfoProto.create({ name: 'prob', type: m.graph.output[0].type }));
      bytes = onnx.ModelProto.encode(m).finish();
    }
    return {
      onnx: bytes,
      manifest: {
        ...pkg.manifest,
        algorithm: 'imported',
        sha256: sha256Hex(bytes),
        output: {
          name: sigmoid ? 'prob' : 'raw',
          higherIsAnomalous: true,
          raw: 'raw',
          rawHigherIsAnomalous: true,
        },
      },
    };
  };

  it('serves a graph whose score is the raw tree output on the fast path, equal to onnxruntime', async () => {
    const p = bare(false);
    const fast = await loadModel(p);
    const ort = await loadModel(p, { engine: 'onnx' });
    expect(fast.engine.name).toBe('fast');
    const x = gridRows(3, 100, 5);
    const a = await fast.engine.score(x, 100);
    const b = await ort.engine.score(x, 100);
    for (let i = 0; i < 100; i++)
      expect(Math.abs(a.score[i] - b.score[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b.score[i])));
  });

  it('hands a graph with post-processing it does not know (Sigmoid) to onnxruntime', async () => {
    const model = await loadModel(bare(true));
    expect(model.engine.name).toBe('onnx');
    const out = await model.engine.score(gridRows(4, 10, 5), 10);
    for (const s of out.score) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(1);
    }
  });
});
