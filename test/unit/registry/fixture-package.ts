import { createHash } from 'node:crypto';
import type { Manifest, ModelPackage } from '#core/model/manifest.ts';
import { exportOnnx } from '#core/onnx/export.ts';
import { randomEnsemble } from '../../helpers/random-trees.ts';

/**
 * A small, valid model package for registry/store tests: `onnx` is a tiny real
 * graph (registration checks that the scorer could serve it) and the manifest
 * carries its sha256, computed here independently of the code under test.
 */
export function fixturePackage(opts: { name?: string; seed?: number } = {}): ModelPackage {
  const seed = opts.seed ?? 1;
  // A real (tiny) servable graph: registration refuses packages the scorer could not load.
  const onnx = exportOnnx(
    randomEnsemble({ seed, nFeatures: 2, nTrees: 2, maxDepth: 2, aggregate: 'AVERAGE' }),
    {
      rawOutputName: 'path_length',
      isolationScore: { psi: 10, scoreOutputName: 'score' },
    },
  );
  const sample = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const ref = {
    sample,
    n: 10,
    mean: 5.5,
    std: 2.87,
    min: 1,
    max: 10,
    deciles: [1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1],
  };
  const manifest: Manifest = {
    name: opts.name ?? 'default',
    version: 0,
    algorithm: 'isolation-forest',
    features: ['cpu', 'memory'],
    params: { trees: 2 },
    threshold: 0.6,
    output: { name: 'score', higherIsAnomalous: true, raw: 'path_length', rawHigherIsAnomalous: false },
    sha256: createHash('sha256').update(onnx).digest('hex'),
    createdAt: '2025-01-01T00:00:00.000Z',
    training: { rows: 10, dataSha256: 'abc', window: null, seed },
    reference: { rows: 10, features: { cpu: ref, memory: ref } },
    metrics: { auc: 0.9 },
  };
  return { manifest, onnx };
}

/**
 * A package whose manifest lists three features while its graph reads two: the scorer could
 * not serve it, so registration must refuse it before allocating a version.
 */
export function unservablePackage(name = 'wide-model'): ModelPackage {
  const good = fixturePackage({ name });
  const ref = good.manifest.reference.features.cpu;
  return {
    ...good,
    manifest: {
      ...good.manifest,
      features: ['cpu', 'memory', 'disk'],
      reference: { ...good.manifest.reference, features: { cpu: ref, memory: ref, disk: ref } },
    },
  } as ModelPackage;
}

/** A clock that advances one second per reading, from 2025-01-01T00:00:00Z. */
export function steppingClock(start = Date.parse('2025-01-01T00:00:00.000Z'), stepMs = 1000) {
  let t = start - stepMs;
  return {
    now: () => {
      t += stepMs;
      return new Date(t);
    },
    /** The last instant handed out. */
    last: () => new Date(t),
  };
}
