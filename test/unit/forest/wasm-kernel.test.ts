import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseNumericCsv } from '#core/csv.ts';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { servedScorer, WASM_AFTER_ROWS, WasmTreeScorer } from '#core/forest/wasm-kernel.ts';
import { decodePackage } from '#core/model/package-io.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { fastEngine } from '#core/scoring.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { ALL_BRANCH_MODES, gridRows, randomEnsemble, referencePredict } from '../../helpers/random-trees.ts';

/**
 * The wasm kernel must compute exactly what the plain fast path (`TreeScorer`, the
 * reference) computes: bit for bit, on every fixture model and on random forests and rows
 * (NaN, ±0, values on thresholds, huge and tiny magnitudes, float and double graphs).
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const BYO = path.join(ROOT, 'test/fixtures/byo');

function kernel(t: TreeEnsemble, lanes?: number): WasmTreeScorer {
  const k = WasmTreeScorer.for(t, new TreeScorer(t), lanes);
  if (!k) throw new Error('the wasm kernel does not cover this ensemble');
  return k;
}

/** Element-wise Object.is: the same bits up to NaN payloads. */
function expectSameBits(got: Float64Array, want: Float64Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`row ${i}: kernel ${got[i]} ≠ reference ${want[i]}`);
  }
}

const value = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -8, max: 8 }),
  fc.integer({ min: -16, max: 16 }).map((v) => v / 2), // the random trees' threshold grid
  fc.constantFrom(Number.NaN, 0, -0, 1e-40, -1e-40, 3e38, -3e38, 1e300),
);

describe('WasmTreeScorer (wasm kernel) against the plain fast path', () => {
  it('equals the reference bit for bit on random forests and rows (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          nFeatures: fc.integer({ min: 1, max: 12 }),
          nTrees: fc.integer({ min: 1, max: 23 }),
          maxDepth: fc.integer({ min: 0, max: 11 }),
          aggregate: fc.constantFrom('SUM' as const, 'AVERAGE' as const),
          base: fc.constantFrom(0, 0.5, -3.25),
          double: fc.boolean(),
          lanes: fc.constantFrom(4, 8, 16),
        }),
        fc.integer({ min: 0, max: 70 }),
        fc.array(value, { minLength: 70 * 12, maxLength: 70 * 12 }),
        (spec, rows, values) => {
          let t = randomEnsemble({ ...spec, modes: [NodeMode.BRANCH_LEQ] });
          // A double graph keeps float64 thresholds that float32 cannot hold.
          if (spec.double) t = { ...t, doubleInput: true, threshold: t.threshold.map((v) => v + 1e-9) };
          const n = rows * spec.nFeatures;
          const x = spec.double
            ? Float64Array.from(values.slice(0, n))
            : Float32Array.from(values.slice(0, n));
          const want = new TreeScorer(t).predictRaw(x, rows);
          expectSameBits(kernel(t, spec.lanes).predictRaw(x, rows), want);
          if (!spec.double) {
            for (let r = 0; r < rows; r++) {
              const ref = referencePredict(t, x.subarray(r * spec.nFeatures, (r + 1) * spec.nFeatures));
              expect(Math.abs(want[r] - ref)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(ref)));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('equals the reference across blocks and chunks (1,037 rows of 5 features; 2,001 rows of 300)', () => {
    for (const [nFeatures, rows] of [
      [5, 1037],
      [300, 2001],
    ]) {
      const t = randomEnsemble({ seed: nFeatures, nFeatures, nTrees: 30, maxDepth: 9, aggregate: 'AVERAGE' });
      const x = gridRows(7, rows, nFeatures, 0.001);
      expectSameBits(kernel(t).predictRaw(x, rows), new TreeScorer(t).predictRaw(x, rows));
    }
  });

  it('rounds a plain number array to float32 as the reference does', () => {
    const t = randomEnsemble({ seed: 5, nFeatures: 3, nTrees: 20, maxDepth: 7 });
    const x = Array.from(gridRows(9, 50, 3), (v, i) => v + (i % 3) * 1e-9);
    expectSameBits(kernel(t).predictRaw(x, 50), new TreeScorer(t).predictRaw(x, 50));
  });

  it('writes into the array it is given, at rows beyond a chunk too', () => {
    const t = randomEnsemble({ seed: 6, nFeatures: 2, nTrees: 5, maxDepth: 4 });
    const x = gridRows(2, 9, 2);
    const out = new Float64Array(9);
    expect(kernel(t).predictRaw(x, 9, out)).toBe(out);
    expectSameBits(out, new TreeScorer(t).predictRaw(x, 9));
  });

  it('refuses a matrix shorter than rows × features instead of scoring stale memory', () => {
    const t = randomEnsemble({ seed: 8, nFeatures: 3, nTrees: 4, maxDepth: 3 });
    expect(() => kernel(t).predictRaw(new Float32Array(8), 3)).toThrow(/need 9 values; got 8/);
  });

  it('leaves ensembles it does not cover to the reference (other split modes, MIN/MAX)', () => {
    const modes = randomEnsemble({ seed: 3, nFeatures: 4, nTrees: 6, maxDepth: 5, modes: ALL_BRANCH_MODES });
    expect(modes.mode.some((m) => m !== NodeMode.LEAF && m !== NodeMode.BRANCH_LEQ)).toBe(true);
    expect(WasmTreeScorer.for(modes)).toBeUndefined();
    for (const aggregate of ['MIN', 'MAX'] as const) {
      expect(
        WasmTreeScorer.for(randomEnsemble({ seed: 3, nFeatures: 4, nTrees: 6, maxDepth: 5, aggregate })),
      ).toBeUndefined();
    }
    const leq = randomEnsemble({ seed: 3, nFeatures: 4, nTrees: 6, maxDepth: 5 });
    expect(WasmTreeScorer.for(leq)).toBeInstanceOf(WasmTreeScorer);
  });
});

describe('servedScorer', () => {
  it(`scores the first ${WASM_AFTER_ROWS} rows on the plain walk, then on the wasm kernel, with the same bits`, () => {
    const t = randomEnsemble({ seed: 21, nFeatures: 4, nTrees: 40, maxDepth: 8, aggregate: 'AVERAGE' });
    const reference = new TreeScorer(t);
    const scorer = servedScorer(t, reference);
    const x = gridRows(4, 600, 4, 0.01);
    const want = reference.predictRaw(x, 600);
    const kernels: string[] = [];
    for (let i = 0; i < 3; i++) {
      kernels.push(scorer.kernel);
      expectSameBits(scorer.predictRaw(x, 600), want);
    }
    // 0, 600, then 1,200 rows scored before each call: the third runs on the wasm kernel.
    expect(kernels).toEqual(['plain', 'plain', 'plain']);
    expect(scorer.kernel).toBe('wasm');
    expectSameBits(scorer.predictRaw(x, 600), want);
  });

  it('stays on the plain walk for trees the wasm kernel does not cover', () => {
    const t = randomEnsemble({ seed: 22, nFeatures: 3, nTrees: 10, maxDepth: 6, aggregate: 'MAX' });
    const scorer = servedScorer(t);
    const x = gridRows(5, 800, 3);
    for (let i = 0; i < 3; i++)
      expectSameBits(scorer.predictRaw(x, 800), new TreeScorer(t).predictRaw(x, 800));
    expect(scorer.kernel).toBe('plain');
  });
});

describe('WasmTreeScorer on every fixture model', () => {
  const data = parseNumericCsv(readFileSync(path.join(BYO, 'data.csv'), 'utf8'));
  const FEATURES = ['cpu', 'memory', 'network', 'disk_io', 'connections', 'error_rate'];
  const x = new Float32Array(data.rows * FEATURES.length);
  FEATURES.forEach((f, k) => {
    const col = data.data[data.columns.indexOf(f)];
    for (let r = 0; r < data.rows; r++) x[r * FEATURES.length + k] = col[r];
  });

  for (const name of ['a_dtr', 'd_gbr', 'e_hgbr', 'f_iforest', 'g_gbc']) {
    it(`${name} (skl2onnx): the same bits as the reference on all ${data.rows} fixture rows`, () => {
      const t = parseOnnx(new Uint8Array(readFileSync(path.join(BYO, name, 'model.onnx')))).ensemble;
      for (const rows of [data.rows, 1, 3, 17]) {
        expectSameBits(kernel(t).predictRaw(x, rows), new TreeScorer(t).predictRaw(x, rows));
      }
    });
  }

  it('models/default: the served engine, once on the wasm kernel, scores as the edge entry’s plain engine does', async () => {
    const pkg = decodePackage({
      manifest: readFileSync(path.join(ROOT, 'models/default/manifest.json')),
      onnx: new Uint8Array(readFileSync(path.join(ROOT, 'models/default/model.onnx'))),
    });
    const parsed = parseOnnx(pkg.onnx);
    expect(WasmTreeScorer.for(parsed.ensemble)).toBeInstanceOf(WasmTreeScorer);
    const f = pkg.manifest.features;
    const ref = pkg.manifest.reference.features;
    const rows = ref[f[0]].sample.length;
    const m = Float32Array.from(
      { length: rows * f.length },
      (_, i) => ref[f[i % f.length]].sample[Math.floor(i / f.length)],
    );
    const scorer = servedScorer(parsed.ensemble);
    const engine = fastEngine(parsed, pkg.manifest, scorer);
    while (scorer.kernel === 'plain') await engine.score(m, rows);
    const served = await engine.score(m, rows);
    const plain = await fastEngine(parsed, pkg.manifest).score(m, rows);
    expectSameBits(served.raw, plain.raw);
    expectSameBits(served.score, plain.score);
  });
});
