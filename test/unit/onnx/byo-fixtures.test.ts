import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseNumericCsv } from '#core/csv.ts';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { importModel } from '#core/model/import.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { coversAreCounts, parseOnnx } from '#core/onnx/parse.ts';
import { type LoadedModel, loadModel } from '#core/scoring.ts';
import { withCovers } from '#core/shap/covers.ts';
import { expectedValue, treeShap } from '#core/shap/treeshap.ts';
import type { TreeEnsemble } from '#core/trees.ts';

/**
 * Real skl2onnx 1.21 output for scikit-learn 1.2 models (test/fixtures/byo, provenance in
 * its README) against scikit-learn's own outputs and brute-force Shapley values.
 */
const DIR = path.resolve(import.meta.dirname, '../../fixtures/byo');
const FEATURES = ['cpu', 'memory', 'network', 'disk_io', 'connections', 'error_rate'];
const data = parseNumericCsv(readFileSync(path.join(DIR, 'data.csv'), 'utf8'));
const sk = parseNumericCsv(readFileSync(path.join(DIR, 'sklearn_outputs.csv'), 'utf8'));
const shapRef = JSON.parse(readFileSync(path.join(DIR, 'shap_reference.json'), 'utf8'));
const N = data.rows;
const sklearn = (name: string) => sk.data[sk.columns.indexOf(name)];
const x = new Float32Array(N * FEATURES.length);
FEATURES.forEach((f, k) => {
  const col = data.data[data.columns.indexOf(f)];
  for (let r = 0; r < N; r++) x[r * FEATURES.length + k] = col[r];
});
const row = (r: number) => x.subarray(r * FEATURES.length, (r + 1) * FEATURES.length);
const onnxOf = (pkg: string) => new Uint8Array(readFileSync(path.join(DIR, pkg, 'model.onnx')));

/** fixture → scikit-learn column its served score must equal, tolerance (relative), import options */
const FAMILIES = [
  { pkg: 'a_dtr', ref: 'a_dtr', rel: 1e-5, opts: { threshold: 110 } },
  { pkg: 'd_gbr', ref: 'd_gbr', rel: 1e-5, opts: { contamination: 0.05 } },
  // A float32 graph: scikit-learn on float32(X) is what it computes (see README "Models").
  { pkg: 'e_hgbr', ref: 'e_hgbr_on_float32_X', rel: 1e-5, opts: { threshold: 110 } },
  // Vigil's scale: −score_samples, in (0, 1], higher = more anomalous.
  { pkg: 'f_iforest', ref: 'f_iforest', rel: 1e-5, opts: {} },
  { pkg: 'g_gbc', ref: 'g_gbc', rel: 1e-6, opts: {} },
] as const;

async function importFixture(
  pkg: string,
  opts: { threshold?: number; contamination?: number },
): Promise<ModelPackage> {
  return importModel({
    name: pkg.replace('_', '-'),
    onnx: onnxOf(pkg),
    reference: data,
    features: FEATURES,
    createdAt: '2026-12-01T00:00:00.000Z',
    dataSha256: 'fixture',
    ...opts,
  });
}

const worstRelative = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.abs(want[i]));
  return worst;
};

describe('scikit-learn models brought through skl2onnx', () => {
  const packages = new Map<string, ModelPackage>();
  const fast = new Map<string, LoadedModel>();
  beforeAll(async () => {
    for (const f of FAMILIES) {
      const pkg = await importFixture(f.pkg, f.opts);
      packages.set(f.pkg, pkg);
      fast.set(f.pkg, await loadModel(pkg));
    }
  });

  for (const f of FAMILIES) {
    it(`${f.pkg}: the fast path scores every row as scikit-learn does (${f.rel} relative)`, async () => {
      const model = fast.get(f.pkg) as LoadedModel;
      expect(model.engine.name).toBe('fast');
      const { score } = await model.engine.score(x, N);
      expect(worstRelative(score, sklearn(f.ref))).toBeLessThanOrEqual(f.rel);
    });
  }

  it('g_gbc: the raw value is the margin scikit-learn calls decision_function', async () => {
    const { raw } = await (fast.get('g_gbc') as LoadedModel).engine.score(x, N);
    expect(worstRelative(raw, sklearn('g_gbc_decision_function'))).toBeLessThanOrEqual(1e-6);
  });

  it("f_iforest: carries offset_ over, so the rows flagged are exactly scikit-learn's outliers", async () => {
    const pkg = packages.get('f_iforest') as ModelPackage;
    expect(pkg.manifest.threshold).toBe(0.5);
    expect(pkg.manifest.output).toMatchObject({
      name: 'score_samples',
      negate: true,
      higherIsAnomalous: true,
    });
    const { score } = await (fast.get('f_iforest') as LoadedModel).engine.score(x, N);
    const decision = sklearn('f_iforest_decision_function');
    const flagged = Array.from(score, (s) => s >= pkg.manifest.threshold);
    expect(flagged).toEqual(Array.from(decision, (d) => d < 0));
    expect(flagged.filter(Boolean).length).toBeGreaterThan(0);
  });

  it('d_gbr: --contamination 0.05 flags 5 % of the reference rows', async () => {
    const pkg = packages.get('d_gbr') as ModelPackage;
    const { score } = await (fast.get('d_gbr') as LoadedModel).engine.score(x, N);
    const share = score.filter((s) => s >= pkg.manifest.threshold).length / N;
    expect(share).toBeCloseTo(0.05, 2);
  });

  it('onnxruntime-web agrees with the fast path within 1e-6 of the output scale; the fast path is the closer to scikit-learn', async () => {
    for (const f of FAMILIES) {
      const ort = await loadModel(packages.get(f.pkg) as ModelPackage, { engine: 'onnx' });
      expect(ort.engine.name).toBe('onnx');
      const a = (await (fast.get(f.pkg) as LoadedModel).engine.score(x, N)).score;
      const b = (await ort.engine.score(x, N)).score;
      const want = sklearn(f.ref);
      const scale = Math.max(...Array.from(want, Math.abs));
      let gap = 0;
      let fastErr = 0;
      let ortErr = 0;
      for (let r = 0; r < N; r++) {
        gap = Math.max(gap, Math.abs(a[r] - b[r]));
        fastErr = Math.max(fastErr, Math.abs(a[r] - want[r]));
        ortErr = Math.max(ortErr, Math.abs(b[r] - want[r]));
      }
      expect(gap, f.pkg).toBeLessThanOrEqual(1e-6 * scale);
      expect(fastErr, f.pkg).toBeLessThanOrEqual(ortErr);
    }
  }, 120_000);
});

describe('covers of brought models', () => {
  it("ignores skl2onnx's nodes_hitrates (1.0 everywhere) and keeps real counts", () => {
    for (const pkg of ['a_dtr', 'd_gbr', 'e_hgbr', 'g_gbc']) {
      const p = parseOnnx(onnxOf(pkg));
      expect(p.coverSource, pkg).toBe('none');
      expect(p.ensemble.cover.every(Number.isNaN), pkg).toBe(true);
    }
    const iforest = parseOnnx(onnxOf('f_iforest'));
    expect(iforest.coverSource).toBe('model');
    // Each tree saw max_samples = 256 rows.
    for (const root of iforest.ensemble.roots) expect(iforest.ensemble.cover[root]).toBe(256);
  });

  it('accepts counts whose parents equal their children within rounding, refuses others', () => {
    const t = withCovers(parseOnnx(onnxOf('a_dtr')).ensemble, {
      columns: FEATURES.map((f) => data.data[data.columns.indexOf(f)]),
    });
    expect(coversAreCounts(t)).toBe(true);
    const weighted = Float64Array.from(t.cover, (c) => c * 0.1 * (1 + 1e-12));
    expect(coversAreCounts({ ...t, cover: weighted })).toBe(true);
    const broken = Float64Array.from(t.cover);
    broken[t.roots[0]] += 1;
    expect(coversAreCounts({ ...t, cover: broken })).toBe(false);
    const ones = new Float64Array(t.cover.length).fill(1);
    expect(coversAreCounts({ ...t, cover: ones })).toBe(false);
    const withZero = Float64Array.from(t.cover);
    withZero[withZero.length - 1] = 0;
    expect(coversAreCounts({ ...t, cover: withZero })).toBe(false);
  });
});

describe('explanations of brought models', () => {
  const reference = { columns: FEATURES.map((f) => data.data[data.columns.indexOf(f)]) };
  const explained = (pkg: string): TreeEnsemble => {
    const p = parseOnnx(onnxOf(pkg));
    return p.coverSource === 'model' ? p.ensemble : withCovers(p.ensemble, reference);
  };
  const close = (a: number, b: number, scale: number) =>
    Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(b), scale);

  for (const [pkg, covers] of [
    ['a_dtr', 'reference'],
    ['d_gbr', 'reference'],
    ['f_iforest', 'sklearn'],
  ] as const) {
    it(`${pkg}: equal the brute-force path-dependent Shapley values (${covers} covers), 1e-6 relative`, () => {
      const t = explained(pkg);
      const refs = shapRef.models[pkg][covers] as Array<{
        baseValue: number;
        raw: number;
        rawContributions: Record<string, number>;
      }>;
      expect(refs).toHaveLength(shapRef.rows.length);
      refs.forEach((ref, i) => {
        const r = shapRef.rows[i] as number;
        const phi = treeShap(t, row(r));
        const scale = Math.max(...Object.values(ref.rawContributions).map(Math.abs));
        expect(close(expectedValue(t), ref.baseValue, 1), `${pkg} base`).toBe(true);
        FEATURES.forEach((f, k) => {
          expect(
            close(phi[k], ref.rawContributions[f], scale),
            `${pkg} row ${r} ${f}: ${phi[k]} vs ${ref.rawContributions[f]}`,
          ).toBe(true);
        });
      });
    });
  }

  it('a_dtr with the converter\'s uniform "covers" reproduces the wrong reference, not the right one', () => {
    const p = parseOnnx(onnxOf('a_dtr'));
    const uniform = { ...p.ensemble, cover: new Float64Array(p.ensemble.cover.length).fill(1) };
    const wrong = shapRef.models.a_dtr.uniform[0];
    const right = shapRef.models.a_dtr.reference[0];
    expect(expectedValue(uniform)).toBeCloseTo(wrong.baseValue, 6);
    expect(Math.abs(wrong.baseValue - right.baseValue)).toBeGreaterThan(30);
    expect(expectedValue(explained('a_dtr'))).toBeCloseTo(right.baseValue, 6);
  });

  for (const pkg of ['a_dtr', 'd_gbr', 'e_hgbr', 'f_iforest', 'g_gbc']) {
    it(`${pkg}: local accuracy on every row (base + Σφ = raw within 1e-6 relative)`, () => {
      const t = explained(pkg);
      const raw = new TreeScorer(t).predictRaw(x, N);
      const base = expectedValue(t);
      const phi = new Float64Array(FEATURES.length);
      for (let r = 0; r < N; r++) {
        treeShap(t, row(r), phi);
        const total = base + phi.reduce((s, v) => s + v, 0);
        expect(Math.abs(total - raw[r]), `row ${r}`).toBeLessThanOrEqual(
          1e-6 * Math.max(1, Math.abs(raw[r])),
        );
      }
    });
  }
});
