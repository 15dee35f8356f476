import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { andersonKsamp } from '#core/drift/anderson.ts';
import { cramerVonMises2samp } from '#core/drift/cvm.ts';
import { binCounts, jensenShannon, psi, quantileEdges, wasserstein1 } from '#core/drift/distances.ts';
import { ks2samp } from '#core/drift/ks.ts';
import { prepareSample } from '#core/drift/sample.ts';
import { welchTTest } from '#core/drift/ttest.ts';

/**
 * Reference vectors computed by SciPy 1.10.1 / NumPy 1.24.2, kept in the project's own
 * fixtures (provenance in test/fixtures/README.md) so a clone alone passes.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const oraclePath = path.join(repoRoot, 'test/fixtures/oracle/drift_cases.json');

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
const num = (v: Num): number =>
  v === 'NaN' ? Number.NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;

interface OracleCase {
  id: string;
  reference: Num[];
  current: Num[];
  // biome-ignore lint/suspicious/noExplicitAny: the oracle's result tree is heterogeneous JSON
  results: any;
}
const oracle = JSON.parse(readFileSync(oraclePath, 'utf8')) as { cases: OracleCase[] };

const REL = 1e-9;
const ABS_P = 1e-6;

/** |a − b| ≤ 1e-9·max(|a|,|b|), with NaN = NaN and equal infinities. */
function expectRel(actual: number, expected: number, what: string) {
  if (Number.isNaN(expected)) return expect(actual, what).toBeNaN();
  if (!Number.isFinite(expected)) return expect(actual, what).toBe(expected);
  const tol = REL * Math.max(Math.abs(expected), Math.abs(actual)) + 1e-300;
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}
function expectP(actual: number, expected: number, what: string) {
  if (Number.isNaN(expected)) return expect(actual, what).toBeNaN();
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(ABS_P);
}

describe('drift statistics match SciPy 1.10 reference vectors', () => {
  it('loads the oracle file with its cases', () => {
    expect(oracle.cases.length).toBeGreaterThanOrEqual(20);
  });

  for (const c of oracle.cases) {
    describe(c.id, () => {
      const ref = prepareSample(c.reference.map(num));
      const cur = prepareSample(c.current.map(num));
      const r = c.results;

      it('KS two-sample: statistic, p (auto/exact/asymp), location and sign', () => {
        for (const method of ['auto', 'exact', 'asymp'] as const) {
          const o = r.ks_2samp[method];
          const got = ks2samp(ref.sorted, cur.sorted, method);
          expectRel(got.statistic, o.statistic, `${method} D`);
          expectP(got.pvalue, o.pvalue, `${method} p`);
          expect(got.location, `${method} location`).toBe(o.statistic_location);
          expect(got.sign, `${method} sign`).toBe(o.statistic_sign);
        }
        expect(ks2samp(ref.sorted, cur.sorted).method).toBe(r.ks_2samp.extra.auto_uses);
      });

      it('Wasserstein-1 distance', () => {
        expectRel(wasserstein1(ref.sorted, cur.sorted), r.wasserstein_distance.value, 'W1');
      });

      it('Anderson-Darling k-sample (midrank): statistic, critical values, p, capped/floored', () => {
        const o = r.anderson_ksamp.midrank_true;
        const got = andersonKsamp(ref.sorted, cur.sorted);
        if (o.error) {
          // SciPy raises on a pooled sample with one distinct value; we return "no result".
          expect(o.error).toMatch(/more than one distinct observation/);
          expect(got).toBeUndefined();
          return;
        }
        expect(got).toBeDefined();
        if (!got) return;
        expectRel(got.statistic, o.statistic, 'A2');
        o.critical_values.forEach((cv: number, i: number) => {
          expectRel(got.criticalValues[i], cv, `critical[${i}]`);
        });
        expectP(got.pvalue, o.pvalue, 'p (clipped as scipy)');
        expect(got.capped || got.floored).toBe(o.capped_or_floored);
        if (o.capped_or_floored) {
          const warned = (o.warnings as string[]).join(' ');
          expect(got.capped).toBe(warned.includes('capped'));
          expect(got.floored).toBe(warned.includes('floored'));
        }
        // The uncapped quadratic: relative agreement (it explodes far outside the table, e.g. 1e53).
        expectRel(got.pvalueUncapped, o.pvalue_polyfit_uncapped_NOT_SCIPY, 'p uncapped');
      });

      it('Cramér-von Mises two-sample: statistic and p (auto and asymptotic)', () => {
        for (const method of ['auto', 'asymptotic'] as const) {
          const o = r.cramervonmises_2samp[method];
          const got = cramerVonMises2samp(ref.sorted, cur.sorted, method);
          expectRel(got.statistic, o.statistic, `${method} T`);
          expectP(got.pvalue, o.pvalue, `${method} p`);
        }
        expect(cramerVonMises2samp(ref.sorted, cur.sorted).method).toBe(r.cramervonmises_2samp.auto_uses);
      });

      it('Welch t-test: statistic, p, df', () => {
        const o = r.ttest_welch;
        const got = welchTTest(ref.mean, ref.var1, ref.n, cur.mean, cur.var1, cur.n);
        expectRel(got.statistic, num(o.statistic), 't');
        expectP(got.pvalue, num(o.pvalue), 'p');
        if (!Number.isNaN(num(o.df_welch_satterthwaite_NOT_SCIPY_OUTPUT))) {
          expectRel(got.df, o.df_welch_satterthwaite_NOT_SCIPY_OUTPUT, 'df');
        }
      });

      it('reference-quantile bins: edges, counts, JS distance (base 2 and e), PSI and its terms', () => {
        const o = r.hist_reference_quantile;
        const edges = quantileEdges(ref.sorted, 10);
        expect(edges).toEqual(o.inner_edges);
        const cr = binCounts(ref.sorted, edges);
        const cc = binCounts(cur.sorted, edges);
        expect(cr).toEqual(o.counts_reference);
        expect(cc).toEqual(o.counts_current);
        expectRel(jensenShannon(cr, cc, 2), o.js_distance_base_2, 'JS base 2');
        expectRel(jensenShannon(cr, cc, Math.E), o.js_distance_base_e, 'JS base e');
        const p = psi(cr, cc, 1e-4);
        expectRel(p.value, o['psi_eps_1e-4'], 'PSI');
        p.terms.forEach((t, i) => {
          expectRel(t, o.psi_terms[i], `PSI term ${i}`);
        });
      });

      it('summary: means and standard deviations (ddof 1)', () => {
        const s = r.summary;
        expectRel(ref.mean, s.mean_reference, 'mean ref');
        expectRel(cur.mean, s.mean_current, 'mean cur');
        expectRel(Math.sqrt(ref.var1), s.std_ddof1_reference, 'std ref');
        expectRel(Math.sqrt(cur.var1), s.std_ddof1_current, 'std cur');
      });
    });
  }
});
