import { describe, expect, it } from 'vitest';
import { logger } from '#adapters/observability.ts';
import { explainRowsOf } from '#app/explain.ts';
import { scoreRows } from '#app/score.ts';
import { singlePackageCache } from '#app/serve.ts';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { importModel } from '#core/model/import.ts';
import { loadModel, rowsToMatrix } from '#core/scoring.ts';
import { explainHttp } from '#handlers/explain.ts';
import { scoreHttp } from '#handlers/score.ts';
import { runOnBody } from '../../../local/run-on-body.ts';

const NO_METRICS = { emit: () => undefined };

import { Rng, randomRows, randomSkTree, regressorGraph, walk } from '../../helpers/skl2onnx-graphs.ts';

/**
 * A tensor(double) graph end to end: request rows are packed as float64 (not rounded to
 * float32), both engines compare them with float64 thresholds, and the scores are what a
 * float64 walk of the trees gives — where a float32 pipeline would take other branches.
 */
const NF = 3;
const FEATURES = ['a', 'b', 'c'];
const rng = new Rng(21);
const trees = Array.from({ length: 30 }, () => randomSkTree(rng, NF, 5, true));
const bytes = regressorGraph(trees, NF, 0.5, true);
const ROWS = 300;
const x = randomRows(rng, ROWS, NF);
const rows = Array.from({ length: ROWS }, (_, r) =>
  Object.fromEntries(FEATURES.map((f, k) => [f, x[r * NF + k]])),
);
const expected = Array.from({ length: ROWS }, (_, r) =>
  trees.reduce((s, t) => s + t.value[walk(t, x.subarray(r * NF, (r + 1) * NF)).leaf], 0.5),
);

async function pkg() {
  return importModel({
    name: 'double',
    onnx: bytes,
    reference: {
      columns: FEATURES,
      data: FEATURES.map((_, k) => Float64Array.from({ length: ROWS }, (_, r) => x[r * NF + k])),
    },
    threshold: 1,
    createdAt: '2026-12-01T00:00:00.000Z',
    dataSha256: 'x',
  });
}

describe('tensor(double) graphs end to end', () => {
  it('packs rows as float64 and scores them as a float64 walk of the trees, on both engines', async () => {
    const p = await pkg();
    for (const engine of ['fast', 'onnx'] as const) {
      const model = await loadModel(p, { engine });
      expect(model.inputType).toBe('double');
      const m = rowsToMatrix(rows, FEATURES, ROWS, model.inputType);
      expect(m).toBeInstanceOf(Float64Array);
      const { score } = await model.engine.score(m, ROWS);
      const scale = Math.max(...expected.map(Math.abs));
      // onnxruntime sums float32 leaf values; the fast path float64.
      for (let r = 0; r < ROWS; r++) {
        const tol = (engine === 'fast' ? 1e-12 : 1e-6) * scale;
        expect(Math.abs(score[r] - expected[r]), `${engine} row ${r}`).toBeLessThanOrEqual(tol);
      }
    }
    // A float32 pipeline (rows and thresholds rounded to float32) would disagree on some rows.
    const t = (await loadModel(p)).parsed?.ensemble;
    if (!t) throw new Error('parsed');
    const asFloat = { ...t, doubleInput: false, threshold: Float64Array.from(t.threshold, Math.fround) };
    const f32 = new TreeScorer(asFloat).predictRaw(Float32Array.from(x), ROWS);
    expect(f32.some((s, r) => Math.abs(s - expected[r]) > 1e-6)).toBe(true);
  });

  it('serves and explains over the request cores with float64 rows', async () => {
    const models = singlePackageCache(await pkg());
    const body = JSON.stringify({ rows: rows.slice(0, 20) });
    const scored = await runOnBody(
      scoreHttp(scoreRows({ models, captureSampleRate: 0, maxRows: 100, metrics: NO_METRICS, logger }), {
        alias: 'production',
      }),
      'double',
      'score',
      body,
    );
    expect(scored.status).toBe(200);
    JSON.parse(scored.body).results.forEach((r: { score: number }, i: number) => {
      expect(r.score).toBeCloseTo(expected[i], 9);
    });
    const explained = await runOnBody(
      explainHttp(explainRowsOf({ models, maxRows: 100, metrics: NO_METRICS }), { alias: 'production' }),
      'double',
      'explain',
      body,
    );
    expect(explained.status).toBe(200);
    const e = JSON.parse(explained.body);
    expect(e.coverSource).toBe('reference');
    e.results.forEach(
      (r: { raw: number; baseValue: number; rawContributions: Record<string, number> }, i: number) => {
        expect(r.raw).toBeCloseTo(expected[i], 9);
        const sum = Object.values(r.rawContributions).reduce((a, b) => a + b, 0);
        expect(r.baseValue + sum).toBeCloseTo(r.raw, 9);
      },
    );
  });
});
