import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '#core/errors.ts';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { isolationScore } from '#core/forest/isolation.ts';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { exportOnnx, type TreeOpFormat } from '#core/onnx/export.ts';
import { createOrtModel } from '#core/onnx/ort.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { onnx } from '#core/onnx/proto.ts';
import type { TreeEnsemble } from '#core/trees.ts';
import { ALL_BRANCH_MODES, gridRows, randomEnsemble } from '../../helpers/random-trees.ts';

const FORMATS: TreeOpFormat[] = ['TreeEnsembleRegressor3', 'TreeEnsemble5'];

const forest10 = () => {
  const rng = new Rng(21);
  const cols = Array.from({ length: 10 }, () => Float64Array.from({ length: 3000 }, () => rng.normal()));
  return trainIsolationForest(cols, { nEstimators: 100, maxSamples: 256, seed: 5 });
};

/** Test models: trained forests in both ONNX formats, random ensembles with every split mode. */
const testModels = (): Array<{ name: string; t: TreeEnsemble; format: TreeOpFormat; psi?: number }> => {
  const f = forest10();
  const out: Array<{ name: string; t: TreeEnsemble; format: TreeOpFormat; psi?: number }> = [];
  for (const format of FORMATS) {
    out.push({ name: `isolation forest 10×100 (${format})`, t: f.ensemble, format, psi: f.psi });
    out.push({
      name: `random, all modes, SUM + base (${format})`,
      t: randomEnsemble({
        seed: 31,
        nFeatures: 6,
        nTrees: 15,
        maxDepth: 6,
        modes: ALL_BRANCH_MODES,
        base: 1.5,
      }),
      format,
    });
    out.push({
      name: `random, AVERAGE, no covers (${format})`,
      t: randomEnsemble({
        seed: 32,
        nFeatures: 4,
        nTrees: 7,
        maxDepth: 4,
        aggregate: 'AVERAGE',
        covers: false,
      }),
      format,
    });
    for (const aggregate of ['MIN', 'MAX'] as const) {
      out.push({
        name: `random, all modes, ${aggregate} + base (${format})`,
        t: randomEnsemble({
          seed: 33,
          nFeatures: 5,
          nTrees: 9,
          maxDepth: 5,
          modes: ALL_BRANCH_MODES,
          aggregate,
          base: 0.5,
        }),
        format,
      });
    }
    out.push({
      name: `single-leaf trees only (${format})`,
      t: randomEnsemble({ seed: 34, nFeatures: 3, nTrees: 4, maxDepth: 0, base: 0.25 }),
      format,
    });
  }
  return out;
};

describe('ONNX export → parse round trip', () => {
  for (const { name, t, format } of testModels()) {
    it(`parses back the same predictions: ${name}`, () => {
      const parsed = parseOnnx(exportOnnx(t, { format }));
      expect(parsed.ensemble.nFeatures).toBe(t.nFeatures);
      const x = gridRows(7, 300, t.nFeatures);
      const a = new TreeScorer(t).predictRaw(x, 300);
      const b = new TreeScorer(parsed.ensemble).predictRaw(x, 300);
      for (let i = 0; i < 300; i++) expect(b[i]).toBeCloseTo(a[i], 5);
    });
  }

  it('carries node covers through nodes_hitrates', () => {
    const t = forest10().ensemble;
    const parsed = parseOnnx(exportOnnx(t)).ensemble;
    const sum = (e: TreeEnsemble) => e.cover.reduce((s, c) => s + c, 0);
    expect(sum(parsed)).toBe(sum(t));
    expect(parsed.cover[parsed.roots[0]]).toBe(256);
  });

  it('marks covers unknown (NaN) when the graph has none', () => {
    const t = randomEnsemble({ seed: 1, nFeatures: 3, nTrees: 2, maxDepth: 3, covers: false });
    const parsed = parseOnnx(exportOnnx(t)).ensemble;
    expect(parsed.cover.every((c) => Number.isNaN(c))).toBe(true);
  });

  it('refuses a graph without a tree ensemble', () => {
    const model = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: { name: 'g', node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] },
      }),
    ).finish();
    expect(() => parseOnnx(model)).toThrow(UnsupportedModelError);
  });

  it('refuses bytes that are not ONNX', () => {
    expect(() => parseOnnx(new TextEncoder().encode('definitely not protobuf {'))).toThrow(
      /not a valid ONNX/,
    );
  });

  it('refuses BRANCH_MEMBER splits with a clear error', () => {
    const t = randomEnsemble({ seed: 2, nFeatures: 3, nTrees: 1, maxDepth: 2 });
    const bytes = exportOnnx(t, { format: 'TreeEnsemble5' });
    const m = onnx.ModelProto.decode(bytes);
    const node = m.graph?.node?.[0];
    const modes = node?.attribute?.find((a) => a.name === 'nodes_modes');
    if (!modes?.t?.rawData) throw new Error('test setup: no modes tensor');
    modes.t.rawData = Uint8Array.from(modes.t.rawData, () => 6);
    expect(() => parseOnnx(onnx.ModelProto.encode(m).finish())).toThrow(/BRANCH_MEMBER/);
  });
});

describe('tree fast path agrees with onnxruntime-web', () => {
  const models = testModels();
  for (const { name, t, format, psi } of models) {
    it(`within 1e-6 of the output's scale: ${name}`, async () => {
      const bytes = exportOnnx(t, {
        format,
        rawOutputName: 'raw',
        ...(psi ? { isolationScore: { psi, scoreOutputName: 'score' } } : {}),
      });
      const parsed = parseOnnx(bytes).ensemble;
      const rows = 500;
      // One value in ten is NaN: missing values must take the branch onnxruntime takes.
      const x = gridRows(9, rows, t.nFeatures, psi ? 0 : 0.1);
      const session = await createOrtModel(bytes);
      const out = await session.run(x, rows, t.nFeatures, psi ? ['raw', 'score'] : ['raw']);
      const fast = new TreeScorer(parsed).predictRaw(x, rows);
      // Same branches; only float32 (onnxruntime) vs float64 (fast path) leaf sums differ.
      const scale = Math.max(...Array.from(out.raw, Math.abs));
      for (let i = 0; i < rows; i++) {
        expect(Math.abs(fast[i] - out.raw[i]), `row ${i}`).toBeLessThanOrEqual(1e-6 * scale);
        if (psi) expect(Math.abs(isolationScore(fast[i], psi) - out.score[i])).toBeLessThanOrEqual(1e-6);
      }
    });
  }

  it("within 1e-6 of the output's scale on the shipped default model", async () => {
    const dir = path.resolve(import.meta.dirname, '../../../models/default');
    const bytes = new Uint8Array(await readFile(path.join(dir, 'model.onnx')));
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    const parsed = parseOnnx(bytes);
    const nf = manifest.features.length;
    const ref = manifest.reference.features;
    const rows = 1000;
    const x = new Float32Array(rows * nf);
    manifest.features.forEach((f: string, k: number) => {
      for (let r = 0; r < rows; r++) x[r * nf + k] = ref[f].sample[r] * (r % 7 === 0 ? 1.8 : 1);
    });
    const session = await createOrtModel(bytes);
    const out = await session.run(x, rows, nf, ['path_length', 'score']);
    const fast = new TreeScorer(parsed.ensemble).predictRaw(x, rows);
    for (let i = 0; i < rows; i++) {
      expect(Math.abs(fast[i] - out.path_length[i])).toBeLessThanOrEqual(1e-6 * Math.abs(out.path_length[i]));
      expect(
        Math.abs(isolationScore(fast[i], manifest.params.maxSamples) - out.score[i]),
      ).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe('the exported graph loads in onnxruntime-web', () => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = exportOnnx(forest10().ensemble, { isolationScore: { psi: 256 } });
  });
  it('exposes input [N, 10] and outputs raw + score', async () => {
    const m = await createOrtModel(bytes);
    expect(m.session.inputNames).toEqual(['input']);
    expect(m.session.outputNames).toEqual(['raw', 'score']);
  });
});

describe('parseOnnx refuses malformed graphs instead of hanging or mis-scoring', () => {
  type Attr = { ints?: unknown[]; t?: { rawData?: Uint8Array; floatData?: number[] } };
  /** Exports a small valid ensemble, lets `edit` corrupt its attributes, and returns a parse thunk. */
  const corrupted = (format: TreeOpFormat, edit: (attrs: Map<string, Attr>) => void) => {
    const t = randomEnsemble({ seed: 40, nFeatures: 3, nTrees: 2, maxDepth: 3 });
    const m = onnx.ModelProto.decode(exportOnnx(t, { format }));
    const node = m.graph?.node?.[0];
    edit(new Map((node?.attribute ?? []).map((a) => [a.name ?? '', a as Attr])));
    const bytes = onnx.ModelProto.encode(m).finish();
    return () => parseOnnx(bytes);
  };

  it('a node pointing back at itself (opset 3)', () => {
    const parse = corrupted('TreeEnsembleRegressor3', (a) => {
      const ids = a.get('nodes_truenodeids')?.ints as number[];
      // Node 0 is the root of tree 0 (DFS order): make its true branch loop to itself.
      ids[0] = 0;
    });
    expect(parse).toThrow(/not reachable from its root/);
  });

  it('a node pointing back at itself (opset 5)', () => {
    const parse = corrupted('TreeEnsemble5', (a) => {
      (a.get('nodes_truenodeids')?.ints as number[])[0] = 0;
      (a.get('nodes_trueleafs')?.ints as number[])[0] = 0;
    });
    expect(parse).toThrow(/twice/);
  });

  it('a feature id outside the input', () => {
    const parse = corrupted('TreeEnsembleRegressor3', (a) => {
      (a.get('nodes_featureids')?.ints as number[])[0] = 7;
    });
    expect(parse).toThrow(/outside the input/);
  });

  it('a tree root out of range (opset 5)', () => {
    const parse = corrupted('TreeEnsemble5', (a) => {
      (a.get('tree_roots')?.ints as number[])[0] = 999;
    });
    expect(parse).toThrow(/out of range/);
  });

  it('no trees at all (opset 5)', () => {
    const parse = corrupted('TreeEnsemble5', (a) => {
      const roots = a.get('tree_roots');
      if (roots) roots.ints = [];
    });
    expect(parse).toThrow(/no trees/);
  });

  it('a tensor whose bytes are not whole values (opset 5)', () => {
    const parse = corrupted('TreeEnsemble5', (a) => {
      const modes = a.get('nodes_modes')?.t;
      const splits = a.get('nodes_splits')?.t;
      if (splits) {
        splits.floatData = [];
        splits.rawData = new Uint8Array(4 * ((modes?.rawData?.length ?? 1) - 1) + 3);
      }
    });
    expect(parse).toThrow(/whole number of values/);
  });

  it('parses 20,000 single-leaf trees (per-tree work is constant, not a scan of all nodes)', () => {
    const t = randomEnsemble({ seed: 41, nFeatures: 2, nTrees: 20_000, maxDepth: 0 });
    expect(parseOnnx(exportOnnx(t)).ensemble.roots.length).toBe(20_000);
  });
});
