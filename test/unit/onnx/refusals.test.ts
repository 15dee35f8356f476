import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logger } from '#adapters/observability.ts';
import { explainRowsOf } from '#app/explain.ts';
import { registerPackage } from '#app/models.ts';
import { scoreRows } from '#app/score.ts';
import { singlePackageCache } from '#app/serve.ts';
import { parseNumericCsv } from '#core/csv.ts';
import { UnsupportedModelError } from '#core/errors.ts';
import { importModel } from '#core/model/import.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { sha256Hex } from '#core/model/package-io.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { type GraphProto, type ModelProto, type NodeProto, onnx } from '#core/onnx/proto.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { checkServable } from '#core/scoring.ts';
import { explainHttp } from '#handlers/explain.ts';
import { scoreHttp } from '#handlers/score.ts';
import { runOnBody } from '../../../local/run-on-body.ts';

const NO_METRICS = { emit: () => undefined };

import { Rng, randomSkTree, regressorGraph } from '../../helpers/skl2onnx-graphs.ts';

/**
 * Every refusal is an UnsupportedModelError naming the graph's op types and what Vigil
 * supports — the same at parse, registration, scoring and explanation time — and a tree
 * graph Vigil cannot fold still scores (on onnxruntime-web) while saying why it cannot be explained.
 */
const DIR = path.resolve(import.meta.dirname, '../../fixtures/byo');
const FEATURES = ['cpu', 'memory', 'network', 'disk_io', 'connections', 'error_rate'];
const data = parseNumericCsv(readFileSync(path.join(DIR, 'data.csv'), 'utf8'), FEATURES);

const edit = (bytes: Uint8Array, change: (m: ModelProto) => void): Uint8Array => {
  const m = onnx.ModelProto.decode(bytes);
  change(m);
  return Uint8Array.from(onnx.ModelProto.encode(m).finish());
};

/** g_gbc with a third class label: a multi-class classifier. */
const threeClasses = edit(new Uint8Array(readFileSync(path.join(DIR, 'g_gbc', 'model.onnx'))), (m) => {
  for (const n of m.graph?.node ?? []) {
    for (const a of n.attribute ?? []) if (a.name === 'classlabels_int64s') a.ints = [0, 1, 2];
  }
});

/** Two regressor nodes added together: tree graphs, but no pattern Vigil folds. */
function twoRegressorsAdded(): Uint8Array {
  const rng = new Rng(3);
  const a = onnx.ModelProto.decode(regressorGraph([randomSkTree(rng, 6, 3)], 6, 0, false));
  const b = onnx.ModelProto.decode(regressorGraph([randomSkTree(rng, 6, 3)], 6, 0, false));
  const g = a.graph as GraphProto;
  const na = (g.node as NodeProto[])[0];
  const nb = ((b.graph as GraphProto).node as NodeProto[])[0];
  na.output = ['ya'];
  na.name = 'trees_a';
  nb.output = ['yb'];
  nb.name = 'trees_b';
  g.node = [na, nb, onnx.NodeProto.create({ opType: 'Add', input: ['ya', 'yb'], output: ['variable'] })];
  return Uint8Array.from(onnx.ModelProto.encode(a).finish());
}

async function packageFor(bytes: Uint8Array, name: string): Promise<ModelPackage> {
  return importModel({
    name,
    onnx: bytes,
    reference: data,
    createdAt: '2026-12-01T00:00:00.000Z',
    dataSha256: 'x',
    threshold: 1,
  });
}

const refusedRegistry = (): ModelRegistry =>
  new Proxy({} as ModelRegistry, {
    get: () => () => {
      throw new Error('a refused package must never reach the registry');
    },
  });

describe('refusals', () => {
  it('a multi-class classifier: UnsupportedModel naming its ops and the supported graphs', () => {
    let caught: unknown;
    try {
      parseOnnx(threeClasses);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UnsupportedModelError);
    const e = caught as UnsupportedModelError;
    expect(e.code).toBe('UnsupportedModel');
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/only binary classifiers are supported; this one has 3 classes/);
    expect(e.message).toMatch(
      /The graph's ops: TreeEnsembleClassifier, Cast, ZipMap\. Vigil supports: .*TreeEnsembleRegressor.*binary .*TreeEnsembleClassifier.*IsolationForest/,
    );
    expect(e.details).toMatchObject({ opTypes: { TreeEnsembleClassifier: 1, Cast: 1, ZipMap: 1 } });
  });

  it('a graph without trees: refused, counting what it found', () => {
    const bytes = edit(regressorGraph([randomSkTree(new Rng(1), 2, 2)], 2, 0, false), (m) => {
      (m.graph as GraphProto).node = [
        onnx.NodeProto.create({ opType: 'Identity', input: ['X'], output: ['variable'] }),
      ];
    });
    expect(() => parseOnnx(bytes)).toThrow(
      /found 0 regressor and 0 classifier nodes\. The graph's ops: Identity\. Vigil supports/,
    );
  });

  it('an input that is neither tensor(float) nor tensor(double) is refused by name', () => {
    const bytes = edit(regressorGraph([randomSkTree(new Rng(2), 2, 2)], 2, 0, false), (m) => {
      const info = m.graph?.input?.[0]?.type?.tensorType;
      if (info) info.elemType = onnx.TensorProto.DataType.INT64;
    });
    expect(() => parseOnnx(bytes)).toThrow(/graph input 'X' must be tensor\(float\) or tensor\(double\)/);
  });

  it('the registry refuses what cannot be served, with the same error, before allocating a version', async () => {
    const pkg = await packageFor(new Uint8Array(readFileSync(path.join(DIR, 'a_dtr', 'model.onnx'))), 'ok');
    const refused: ModelPackage = {
      manifest: { ...pkg.manifest, sha256: sha256Hex(threeClasses) },
      onnx: threeClasses,
    };
    await expect(
      registerPackage({ registry: refusedRegistry(), store: {} as never }, refused, { actor: 't' }),
    ).rejects.toThrow(/only binary classifiers.*Vigil supports/);
  });

  it('`vigil score` / `vigil explain` on a refused package answer 422 UnsupportedModel, not InternalError', async () => {
    const pkg = await packageFor(
      new Uint8Array(readFileSync(path.join(DIR, 'a_dtr', 'model.onnx'))),
      'refused',
    );
    const refused: ModelPackage = {
      manifest: { ...pkg.manifest, sha256: sha256Hex(threeClasses) },
      onnx: threeClasses,
    };
    const models = singlePackageCache(refused);
    const row = JSON.stringify({ rows: [Object.fromEntries(FEATURES.map((f) => [f, 1]))] });
    for (const core of [
      scoreHttp(scoreRows({ models, captureSampleRate: 0, maxRows: 10, metrics: NO_METRICS, logger }), {
        alias: 'production',
      }),
      explainHttp(explainRowsOf({ models, maxRows: 10, metrics: NO_METRICS }), { alias: 'production' }),
    ]) {
      const res = await runOnBody(core, 'refused', 'score', row);
      expect(res.status).toBe(422);
      const err = JSON.parse(res.body).error;
      expect(err.code).toBe('UnsupportedModel');
      expect(err.message).toMatch(/only binary classifiers.*The graph's ops: TreeEnsembleClassifier/);
    }
  });
});

describe('tree graphs Vigil cannot fold', () => {
  it('still score on onnxruntime-web, and explain refuses with the reason', async () => {
    const bytes = twoRegressorsAdded();
    const pkg = await packageFor(bytes, 'unfolded');
    const servable = checkServable(pkg);
    expect(servable.parsed).toBeUndefined();
    expect(servable.unexplainable?.message).toMatch(/no Sum over exactly their 2 outputs/);
    const models = singlePackageCache(pkg);
    const row = JSON.stringify({ rows: [Object.fromEntries(FEATURES.map((f) => [f, 50]))] });
    const scored = await runOnBody(
      scoreHttp(scoreRows({ models, captureSampleRate: 0, maxRows: 10, metrics: NO_METRICS, logger }), {
        alias: 'production',
      }),
      'unfolded',
      'score',
      row,
    );
    expect(scored.status).toBe(200);
    expect(Number.isFinite(JSON.parse(scored.body).results[0].score)).toBe(true);
    const explained = await runOnBody(
      explainHttp(explainRowsOf({ models, maxRows: 10, metrics: NO_METRICS }), { alias: 'production' }),
      'unfolded',
      'explain',
      row,
    );
    expect(explained.status).toBe(422);
    const err = JSON.parse(explained.body).error;
    expect(err.code).toBe('UnsupportedModel');
    expect(err.message).toMatch(
      /scores on onnxruntime-web but cannot be explained: .*no Sum over exactly their 2 outputs.*Vigil supports/,
    );
  });
});

describe('manifest outputs', () => {
  it('a score onnxruntime-web could not return (a sequence of maps the trees do not compute) is refused', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(DIR, 'g_gbc', 'model.onnx')));
    const ok = await packageFor(bytes, 'gbc');
    expect(checkServable(ok).parsed?.family).toBe('boosting-classifier');
    // The label is an int64 tensor onnxruntime returns: servable on it (no fast path).
    expect(
      checkServable({
        ...ok,
        manifest: { ...ok.manifest, output: { ...ok.manifest.output, name: 'output_label' } },
      }).parsed,
    ).toBeDefined();
    const zipOnly = edit(bytes, (m) => {
      const g = m.graph as GraphProto;
      // A ZipMap over the label: not the probability tensor the trees compute.
      g.node = [
        ...(g.node ?? []),
        onnx.NodeProto.create({ opType: 'ZipMap', domain: 'ai.onnx.ml', input: ['label'], output: ['maps'] }),
      ];
      g.output = [
        ...(g.output ?? []),
        onnx.ValueInfoProto.create({ name: 'maps', type: { sequenceType: {} } }),
      ];
    });
    const bad = {
      onnx: zipOnly,
      manifest: {
        ...ok.manifest,
        sha256: sha256Hex(zipOnly),
        output: { ...ok.manifest.output, name: 'maps' },
      },
    };
    expect(() => checkServable(bad)).toThrow(
      /manifest output 'maps' is not a tensor the graph returns.*Vigil supports/,
    );
  });
});
