import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isolationScore } from '#core/forest/isolation.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { withCovers } from '#core/shap/covers.ts';
import { explainRow } from '#core/shap/explain.ts';
import { expectedValue, treeShap } from '#core/shap/treeshap.ts';
import { bruteForceShap, maxAbsDiff, predictRaw, rng } from './helpers.ts';

const dir = fileURLToPath(new URL('../../../models/default/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${dir}manifest.json`, 'utf8')) as {
  features: string[];
  reference: { features: Record<string, { sample: number[]; min: number; max: number }> };
};
const columns = manifest.features.map((f) => manifest.reference.features[f].sample);
const parsed = parseOnnx(readFileSync(`${dir}model.onnx`)).ensemble;
// Vigil-trained packages carry training covers; fall back to the reference sample otherwise.
const model = Number.isNaN(parsed.cover[parsed.roots[0]]) ? withCovers(parsed, { columns }) : parsed;
const nf = manifest.features.length;

/** Reference rows, plus random rows spanning 1.5× the reference range (outliers included). */
function rows(n: number): Float64Array[] {
  const r = rng(123);
  return Array.from({ length: n }, (_, i) =>
    Float64Array.from(manifest.features, (f, j) => {
      if (i % 2 === 0) return columns[j][i % columns[j].length];
      const { min, max } = manifest.reference.features[f];
      return min - 0.25 * (max - min) + r() * 1.5 * (max - min);
    }),
  );
}

describe('TreeSHAP on the shipped models/default package', () => {
  it('keeps local accuracy within 1e-9 relative on 1,000 rows', () => {
    const base = expectedValue(model);
    for (const x of rows(1000)) {
      const f = predictRaw(model, x);
      const total = treeShap(model, x).reduce((a, b) => a + b, base);
      expect(Math.abs(total - f)).toBeLessThanOrEqual(1e-9 * Math.abs(f));
    }
  });

  it('matches brute-force Shapley enumeration on a few rows', () => {
    for (const x of rows(6)) {
      expect(maxAbsDiff(treeShap(model, x), bruteForceShap(model, x).phi)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('explains an extreme row as pushed towards anomaly, and a typical row less so', () => {
    const opts = { rawHigherIsAnomalous: false, score: (raw: number) => isolationScore(raw, 256) };
    const extreme = Float64Array.from(manifest.features, (f) => {
      const { min, max } = manifest.reference.features[f];
      return max + (max - min);
    });
    const typical = Float64Array.from(columns, (c) => [...c].sort((a, b) => a - b)[c.length >> 1]);
    const e = explainRow(model, manifest.features, extreme, opts);
    const t = explainRow(model, manifest.features, typical, opts);
    const towards = (x: typeof e): number => Object.values(x.contributions).reduce((a, b) => a + b, 0);
    expect(towards(e)).toBeGreaterThan(0);
    expect(towards(e)).toBeGreaterThan(towards(t));
    expect(e.score).toBeGreaterThan(t.score as number);
    expect(e.ranked).toHaveLength(nf);
  });
});
