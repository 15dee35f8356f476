import { describe, expect, it } from 'vitest';
import { VigilError } from '#core/errors.ts';
import {
  type ExplainOptions,
  explainRow,
  explainRows,
  formatSigned,
  type RankedContribution,
  summarize,
} from '#core/shap/explain.ts';
import { expectedValue, treeShap } from '#core/shap/treeshap.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { predictRaw, randomEnsemble, randomRow, rng } from './helpers.ts';

const NAMES = ['cpu', 'memory', 'network'];

/**
 * An isolation-forest-like tree: network > 400 isolates fast (path length 1),
 * otherwise memory decides between 3 and 6. Lower raw = more anomalous.
 */
function pathLengthTree(): TreeEnsemble {
  return {
    nFeatures: 3,
    roots: Int32Array.of(0),
    feature: Int32Array.of(2, -1, 1, -1, -1),
    threshold: Float64Array.of(400, 0, 80, 0, 0),
    mode: Uint8Array.of(NodeMode.BRANCH_GT, NodeMode.LEAF, NodeMode.BRANCH_LEQ, NodeMode.LEAF, NodeMode.LEAF),
    trueChild: Int32Array.of(1, -1, 3, -1, -1),
    falseChild: Int32Array.of(2, -1, 4, -1, -1),
    missingTracksTrue: new Uint8Array(5),
    value: Float64Array.of(0, 1, 0, 6, 3),
    cover: Float64Array.of(100, 10, 90, 60, 30),
    aggregate: 'AVERAGE',
    base: 0,
  };
}

const lowerIsAnomalous: ExplainOptions = { rawHigherIsAnomalous: false };
const higherIsAnomalous: ExplainOptions = { rawHigherIsAnomalous: true };

describe('explainRow sign convention (positive = towards anomaly)', () => {
  it('flips the sign when a lower raw output is more anomalous (isolation-forest path length)', () => {
    const e = explainRow(pathLengthTree(), NAMES, [50, 50, 500], lowerIsAnomalous);
    expect(e.sign).toBe(-1);
    expect(e.raw).toBe(1);
    // The short path comes from network: it must push towards anomaly.
    expect(e.contributions.network).toBeGreaterThan(0);
    expect(e.rawContributions.network).toBeLessThan(0);
    for (const f of NAMES) expect(e.contributions[f]).toBe(-e.rawContributions[f] + 0);
    expect(e.summary.startsWith('network: +')).toBe(true);
    expect(e.summary).toContain('towards anomaly');
  });

  it('keeps the sign when a higher raw output is more anomalous', () => {
    const e = explainRow(pathLengthTree(), NAMES, [50, 50, 500], higherIsAnomalous);
    expect(e.sign).toBe(1);
    for (const f of NAMES) expect(e.contributions[f]).toBe(e.rawContributions[f]);
    expect(e.contributions.network).toBeLessThan(0);
    expect(e.summary).toMatch(/^network: −[0-9.]+ towards normal/);
  });

  it('keeps local accuracy exact in raw space: baseValue + Σ rawContributions = raw = f(x)', () => {
    const t = randomEnsemble(31, { nFeatures: 3, nTrees: 20, maxDepth: 7, aggregate: 'AVERAGE', base: 2 });
    const r = rng(6);
    for (let k = 0; k < 200; k++) {
      const x = randomRow(r, 3);
      const e = explainRow(t, NAMES, x, lowerIsAnomalous);
      const f = predictRaw(t, x);
      expect(Math.abs(e.raw - f)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(f)));
      const rawSum = Object.values(e.rawContributions).reduce((a, b) => a + b, 0);
      const signedSum = Object.values(e.contributions).reduce((a, b) => a + b, 0);
      expect(Math.abs(e.baseValue + rawSum - f)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(f)));
      expect(Math.abs(e.baseValue + e.sign * signedSum - f)).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(f)),
      );
      expect(e.baseValue).toBe(expectedValue(t));
    }
  });

  it('reports the score from the given score function, and no score without one', () => {
    const withScore = explainRow(pathLengthTree(), NAMES, [1, 2, 3], {
      rawHigherIsAnomalous: false,
      score: (raw) => 2 ** -raw,
    });
    expect(withScore.score).toBe(2 ** -withScore.raw);
    expect('score' in explainRow(pathLengthTree(), NAMES, [1, 2, 3], lowerIsAnomalous)).toBe(false);
  });
});

describe('explainRow ranking and records', () => {
  it('ranks every feature by |contribution| descending, ties in column order', () => {
    const t = randomEnsemble(8, { nFeatures: 6, nTrees: 10, maxDepth: 6, featurePool: [0, 2, 3, 5] });
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const e = explainRow(t, names, randomRow(rng(2), 6, 0), lowerIsAnomalous);
    expect(e.ranked.map((r) => r.feature).sort()).toEqual(names);
    for (let i = 1; i < e.ranked.length; i++) {
      expect(Math.abs(e.ranked[i - 1].contribution)).toBeGreaterThanOrEqual(
        Math.abs(e.ranked[i].contribution),
      );
    }
    // b and e are never split on: exact zeros, tied, so they keep column order at the end.
    expect(e.ranked.slice(-2).map((r) => r.feature)).toEqual(['b', 'e']);
    expect(e.contributions.b).toBe(0);
    expect(Object.is(e.contributions.b, -0)).toBe(false);
  });

  it('carries the row value and both contributions in each ranked entry', () => {
    const e = explainRow(pathLengthTree(), NAMES, [7, 90, 500], lowerIsAnomalous);
    const net = e.ranked.find((r) => r.feature === 'network');
    expect(net).toEqual({
      feature: 'network',
      value: 500,
      contribution: e.contributions.network,
      rawContribution: e.rawContributions.network,
    });
  });

  it('keeps a feature named __proto__ as an ordinary key', () => {
    const e = explainRow(pathLengthTree(), ['cpu', '__proto__', 'network'], [1, 2, 500], lowerIsAnomalous);
    expect(Object.keys(e.contributions)).toEqual(['cpu', '__proto__', 'network']);
    expect(typeof Object.getOwnPropertyDescriptor(e.contributions, '__proto__')?.value).toBe('number');
    expect(JSON.parse(JSON.stringify(e.contributions))).toHaveProperty('network');
  });

  it('explainRows gives the same explanations as explainRow row by row', () => {
    const t = randomEnsemble(4, { nFeatures: 3, nTrees: 5, maxDepth: 5 });
    const r = rng(3);
    const rows = Array.from({ length: 4 }, () => randomRow(r, 3));
    const batch = explainRows(t, NAMES, rows, lowerIsAnomalous);
    rows.forEach((x, i) => {
      expect(batch[i]).toEqual(explainRow(t, NAMES, x, lowerIsAnomalous));
    });
    expect(Array.from(treeShap(t, rows[0])).map((v) => -v + 0)).toEqual(
      NAMES.map((f) => batch[0].contributions[f]),
    );
  });

  it('refuses feature names that do not match the model width or repeat', () => {
    const code = (names: string[]): string | undefined => {
      try {
        explainRow(pathLengthTree(), names, [1, 2, 3], lowerIsAnomalous);
      } catch (e) {
        return e instanceof VigilError ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(['cpu', 'memory'])).toBe('InvalidModel');
    expect(code(['cpu', 'cpu', 'network'])).toBe('InvalidModel');
    expect(code(NAMES)).toBeUndefined();
  });
});

describe('summary formatting', () => {
  const item = (feature: string, contribution: number): RankedContribution => ({
    feature,
    value: 0,
    contribution,
    rawContribution: -contribution,
  });

  it('formats the issue example exactly, with a real minus sign', () => {
    const ranked = [item('network', 0.31), item('memory', 0.12), item('cpu', -0.02), item('disk', 0.001)];
    expect(summarize(ranked)).toBe('network: +0.31 towards anomaly; memory: +0.12; cpu: \u22120.02');
  });

  it('says "towards normal" when the strongest feature pushes away from anomaly', () => {
    expect(summarize([item('cpu', -0.5), item('memory', 0.2)])).toBe(
      'cpu: \u22120.50 towards normal; memory: +0.20',
    );
  });

  it('skips exact zeros and says so when nothing moves the output', () => {
    expect(summarize([item('cpu', 0.25), item('memory', 0)], 3)).toBe('cpu: +0.25 towards anomaly');
    expect(summarize([item('cpu', 0), item('memory', 0)])).toBe(
      'no feature moves this row away from the base value',
    );
  });

  it('keeps small contributions visible instead of rounding them to +0.00', () => {
    expect(formatSigned(0.0042)).toBe('+0.0042');
    expect(formatSigned(-0.0042)).toBe('\u22120.0042');
    expect(formatSigned(0.005)).toBe('+0.01');
    expect(formatSigned(0)).toBe('0');
    expect(formatSigned(1.23456, 3)).toBe('+1.235');
  });
});
