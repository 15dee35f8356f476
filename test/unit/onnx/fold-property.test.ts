import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { createOrtModel } from '#core/onnx/ort.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { applyTail } from '#core/onnx/tails.ts';
import { NodeMode } from '#core/trees.ts';
import {
  classifierGraph,
  classifierReference,
  isolationForestGraph,
  isolationReference,
  Rng,
  randomRows,
  randomSkTree,
  regressorGraph,
  type SkIsolationForest,
  walk,
} from '../../helpers/skl2onnx-graphs.ts';

/**
 * Folding must preserve what the graph computes, exactly (up to float64 rounding):
 * random trees, random feature subsets and random sample counts, built into the
 * graphs skl2onnx writes, against a per-tree interpreter over the trees themselves.
 */
const close = (a: number, b: number, rel = 1e-12) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));
const ROWS = 64;

/** A random subset of `n` columns, in random order (IsolationForest's max_features < 1). */
function subset(rng: Rng, n: number): number[] {
  const cols = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [cols[i], cols[j]] = [cols[j], cols[i]];
  }
  return cols.slice(0, 1 + rng.int(n));
}

const shape = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  nFeatures: fc.integer({ min: 1, max: 7 }),
  nTrees: fc.integer({ min: 1, max: 8 }),
  maxDepth: fc.integer({ min: 0, max: 6 }),
});

describe('folding skl2onnx isolation forests', () => {
  it('preserves E[h(x)] and score_samples on every row, reads each Gather, and takes covers from leaf counts', () => {
    fc.assert(
      fc.property(shape, fc.integer({ min: 2, max: 512 }), ({ seed, nFeatures, nTrees, maxDepth }, psi) => {
        const rng = new Rng(seed);
        const columns = Array.from({ length: nTrees }, () => subset(rng, nFeatures));
        const trees = columns.map((c) => randomSkTree(rng, c.length, maxDepth));
        const forest: SkIsolationForest = { trees, columns, maxSamples: psi, offset: -0.5, nFeatures };
        const parsed = parseOnnx(isolationForestGraph(forest));
        expect(parsed.family).toBe('isolation-forest');
        expect(parsed.coverSource).toBe('model');
        expect(parsed.sklearnOffset).toBe(-0.5);
        const x = Float32Array.from(randomRows(rng, ROWS, nFeatures));
        const raw = new TreeScorer(parsed.ensemble).predictRaw(x, ROWS);
        const tail = parsed.served.score_samples.tail;
        for (let r = 0; r < ROWS; r++) {
          const ref = isolationReference(forest, x.subarray(r * nFeatures, (r + 1) * nFeatures));
          expect(close(raw[r], ref.meanPath), `row ${r}: ${raw[r]} vs ${ref.meanPath}`).toBe(true);
          expect(close(applyTail(tail, raw[r]), ref.scoreSamples), `row ${r} score`).toBe(true);
        }
        // Covers: each tree's root holds all its training samples; a parent its children's sum.
        const e = parsed.ensemble;
        e.roots.forEach((root, k) => {
          expect(e.cover[root]).toBe(trees[k].samples[0]);
        });
        for (let n = 0; n < e.cover.length; n++) {
          if (e.mode[n] !== NodeMode.LEAF)
            expect(e.cover[n]).toBe(e.cover[e.trueChild[n]] + e.cover[e.falseChild[n]]);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('does not fold a graph whose per-tree ops it cannot evaluate (the op is named)', () => {
    const rng = new Rng(7);
    const forest: SkIsolationForest = {
      trees: [randomSkTree(rng, 2, 3), randomSkTree(rng, 2, 3)],
      columns: [
        [0, 1],
        [1, 0],
      ],
      maxSamples: 64,
      offset: -0.5,
      nFeatures: 2,
    };
    const bytes = isolationForestGraph(forest);
    const patched = new TextDecoder('latin1').decode(bytes).replace('\x03Log', '\x03Erf');
    const b2 = Uint8Array.from(patched, (ch) => ch.charCodeAt(0));
    expect(() => parseOnnx(b2)).toThrow(/op Erf after the trees cannot be folded.*Vigil supports/);
  });
});

describe('binary tree-ensemble classifiers', () => {
  for (const kind of ['boosting', 'forest'] as const) {
    it(`${kind}: the positive-class probability (and the ${kind === 'boosting' ? 'margin' : 'probability'} it explains) equals the per-tree interpreter`, () => {
      fc.assert(
        fc.property(
          shape,
          fc.double({ min: -4, max: 4, noNaN: true }),
          ({ seed, nFeatures, nTrees, maxDepth }, base) => {
            const rng = new Rng(seed);
            const trees = Array.from({ length: nTrees }, () => {
              const t = randomSkTree(rng, nFeatures, maxDepth);
              // A forest's leaves hold P(class 1).
              return kind === 'forest' ? { ...t, value: t.value.map(() => rng.next()) } : t;
            });
            const c = { kind, trees, base, nFeatures };
            const parsed = parseOnnx(classifierGraph(c));
            expect(parsed.family).toBe(kind === 'boosting' ? 'boosting-classifier' : 'forest-classifier');
            expect(parsed.explains).toBe(kind === 'boosting' ? 'margin' : 'probability');
            const x = Float32Array.from(randomRows(rng, ROWS, nFeatures));
            const raw = new TreeScorer(parsed.ensemble).predictRaw(x, ROWS);
            const tail = parsed.served.output_probability.tail;
            for (let r = 0; r < ROWS; r++) {
              const ref = classifierReference(c, x.subarray(r * nFeatures, (r + 1) * nFeatures));
              expect(close(raw[r], ref.raw), `row ${r} raw`).toBe(true);
              expect(close(applyTail(tail, raw[r]), ref.probability), `row ${r} probability`).toBe(true);
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});

describe('tensor(double) regressors', () => {
  it('compare float64 inputs with float64 thresholds, where float32 would take the other branch', () => {
    fc.assert(
      fc.property(shape, ({ seed, nFeatures, nTrees, maxDepth }) => {
        const rng = new Rng(seed);
        const trees = Array.from({ length: nTrees }, () => randomSkTree(rng, nFeatures, maxDepth, true));
        const parsed = parseOnnx(regressorGraph(trees, nFeatures, 0.25, true));
        expect(parsed.inputType).toBe('double');
        const x = randomRows(rng, ROWS, nFeatures);
        const raw = new TreeScorer(parsed.ensemble).predictRaw(x, ROWS);
        for (let r = 0; r < ROWS; r++) {
          const row = x.subarray(r * nFeatures, (r + 1) * nFeatures);
          const ref = trees.reduce((s, t) => s + t.value[walk(t, row).leaf], 0.25);
          expect(close(raw[r], ref), `row ${r}`).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('agree with onnxruntime-web fed float64 rows (and a float32 graph would not)', async () => {
    const rng = new Rng(12);
    const nFeatures = 4;
    const trees = Array.from({ length: 20 }, () => randomSkTree(rng, nFeatures, 5, true));
    const bytes = regressorGraph(trees, nFeatures, 0, true);
    const parsed = parseOnnx(bytes);
    const rows = 400;
    const x = randomRows(rng, rows, nFeatures);
    const fast = new TreeScorer(parsed.ensemble).predictRaw(x, rows);
    const ort = await createOrtModel(bytes);
    expect(ort.inputType).toBe('double');
    const out = (await ort.run(x, rows, nFeatures, ['variable'])).variable;
    const scale = Math.max(...fast.map(Math.abs));
    for (let r = 0; r < rows; r++)
      expect(Math.abs(fast[r] - out[r]), `row ${r}`).toBeLessThanOrEqual(1e-6 * scale);
    // The same trees read as float32 flip branches on grid rows: the double path is what matters.
    const asFloat = new TreeScorer({ ...parsed.ensemble, doubleInput: false }).predictRaw(x, rows);
    expect(asFloat.some((v, r) => Math.abs(v - out[r]) > 1e-3 * scale)).toBe(true);
  });
});

describe('folded graphs against onnxruntime-web on the unfolded graph', () => {
  it('isolation forest score_samples, and both classifier kinds positive-class probability, within float32 rounding', async () => {
    const rng = new Rng(99);
    const nFeatures = 5;
    const rows = 200;
    const x = Float32Array.from(randomRows(rng, rows, nFeatures));
    const columns = Array.from({ length: 12 }, () => subset(rng, nFeatures));
    const forest: SkIsolationForest = {
      trees: columns.map((c) => randomSkTree(rng, c.length, 7)),
      columns,
      maxSamples: 256,
      offset: -0.5,
      nFeatures,
    };
    const cases: Array<{ bytes: Uint8Array; out: string; tensor: string; column: number }> = [
      { bytes: isolationForestGraph(forest), out: 'score_samples', tensor: 'score_samples', column: 0 },
    ];
    for (const kind of ['boosting', 'forest'] as const) {
      const trees = Array.from({ length: 15 }, () => {
        const t = randomSkTree(rng, nFeatures, 4);
        return kind === 'forest' ? { ...t, value: t.value.map(() => rng.next()) } : t;
      });
      cases.push({
        bytes: classifierGraph({ kind, trees, base: -1.5, nFeatures }),
        out: 'output_probability',
        tensor: 'proba',
        column: 1,
      });
    }
    for (const c of cases) {
      const parsed = parseOnnx(c.bytes);
      const raw = new TreeScorer(parsed.ensemble).predictRaw(x, rows);
      const served = parsed.served[c.out];
      expect(served.tensor).toBe(c.tensor);
      const ort = await createOrtModel(c.bytes, { expose: [c.tensor] });
      const got = (await ort.runColumns(x, rows, nFeatures, [c.tensor]))[c.tensor];
      expect(got.width).toBe(c.column + 1);
      for (let r = 0; r < rows; r++) {
        const fast = applyTail(served.tail, raw[r]);
        expect(Math.abs(fast - got.data[r * got.width + c.column]), `${c.out} row ${r}`).toBeLessThanOrEqual(
          1e-6,
        );
      }
    }
  });
});
