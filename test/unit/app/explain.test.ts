import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { explainRowsOf } from '#app/explain.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { ModelCache } from '#app/serve.ts';
import { isVigilError } from '#core/errors.ts';
import type { MetricDatum, ModelPackage } from '#core/ports.ts';

describe('explain use case', () => {
  let pkg: ModelPackage;
  beforeAll(async () => {
    pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
  });

  const cache = () =>
    new ModelCache({
      resolver: {
        async resolve(name) {
          return { name, version: 3, artifactUri: 'mem://pkg', sha256: pkg.manifest.sha256 };
        },
      },
      store: {
        async putPackage() {
          throw new Error('read-only');
        },
        async getPackage() {
          return pkg;
        },
      },
    });

  const rows = [
    { cpu: 35, memory: 55, network: 420, disk_io: 95, latency: 28 },
    { cpu: 99, memory: 98, network: 40, disk_io: 900, latency: 400 },
  ];

  it('returns per-row explanations whose raw contributions add up to the raw output, and counts them', async () => {
    const emitted: Array<[readonly MetricDatum[], Record<string, string> | undefined]> = [];
    const explain = explainRowsOf({
      models: cache(),
      maxRows: 10,
      metrics: { emit: (data, dims) => void emitted.push([data, dims]) },
    });
    const out = await explain({ model: 'default', ref: { alias: 'production' }, rows, requestId: 'r1' });
    expect(out).toMatchObject({ model: 'default', version: 3, requestId: 'r1' });
    expect(out.results).toHaveLength(2);
    for (const r of out.results) {
      const sum = Object.values(r.rawContributions).reduce((a, b) => a + b, 0);
      expect(r.baseValue + sum).toBeCloseTo(r.raw, 6);
    }
    // The obviously abnormal row is scored as more anomalous than the ordinary one.
    expect(out.results[1].score).toBeGreaterThan(out.results[0].score);
    expect(emitted).toEqual([[[{ name: 'ExplainedRows', value: 2 }], { model: 'default' }]]);
  });

  it('draws the waterfall of a row, and refuses a row that is not in the request', async () => {
    const explain = explainRowsOf({ models: cache(), maxRows: 10, metrics: { emit: () => undefined } });
    const out = await explain({ model: 'default', ref: { alias: 'production' }, rows, requestId: 'r2' });
    expect(out.svg(1)).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    for (const bad of [2, -1, 0.5, Number.NaN]) {
      const e = (() => {
        try {
          out.svg(bad);
        } catch (err) {
          return err;
        }
      })();
      expect(isVigilError(e) && e.code, String(bad)).toBe('BadRequest');
    }
  });

  it('refuses more rows than allowed with a typed error', async () => {
    const explain = explainRowsOf({ models: cache(), maxRows: 1, metrics: { emit: () => undefined } });
    await expect(
      explain({ model: 'default', ref: { alias: 'production' }, rows, requestId: 'r3' }),
    ).rejects.toMatchObject({ code: 'BatchTooLarge', details: { rows: 2, limit: 1 } });
  });
});
