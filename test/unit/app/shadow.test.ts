import { describe, expect, it } from 'vitest';
import { ReleaseWatch } from '#app/release-watch.ts';
import { scoreRows } from '#app/score.ts';
import { ModelCache } from '#app/serve.ts';
import { METRICS } from '#contracts';
import type { CapturedRow, Logger, MetricDatum, ModelPackage } from '#core/ports.ts';
import type { ReleaseRecord } from '#core/release/types.ts';
import { fixturePackage } from '../registry/fixture-package.ts';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Production = version 1 (`blue`), version 2 = the candidate; `broken` makes version 2 unloadable. */
function registryOf(blue: ModelPackage, candidate: ModelPackage, opts: { broken?: boolean } = {}) {
  const byVersion: Record<number, ModelPackage> = { 1: blue, 2: candidate };
  return new ModelCache({
    resolver: {
      async resolve(name, ref) {
        const version = ref.version ?? 1;
        return {
          name,
          version,
          artifactUri: `mem://${version}`,
          sha256: byVersion[version]?.manifest.sha256 ?? '',
        };
      },
    },
    store: {
      async putPackage() {
        throw new Error('read-only');
      },
      async getPackage(uri) {
        if (opts.broken && uri === 'mem://2') throw new Error('gone');
        return byVersion[Number(uri.slice(6))] as ModelPackage;
      },
    },
  });
}

function recorder() {
  const emitted: Array<{ data: readonly MetricDatum[]; also?: readonly Record<string, string>[] }> = [];
  const rows: CapturedRow[] = [];
  return {
    emitted,
    rows,
    metrics: {
      emit: (
        data: readonly MetricDatum[],
        _d?: Record<string, string>,
        also?: readonly Record<string, string>[],
      ) => void emitted.push({ data, also }),
    },
    captures: {
      write: async (r: CapturedRow[]) => {
        rows.push(...r);
        return { written: r.length, parked: 0, lost: 0 };
      },
    },
    value: (name: string) =>
      emitted
        .flatMap((e) => e.data.filter((d) => d.name === name).map((d) => d.value))
        .reduce((a, b) => a + b, 0),
  };
}

const rows = Array.from({ length: 40 }, (_, i) => ({ cpu: (i * 37) % 100, memory: (i * 53) % 100 }));

describe('shadow phase in the score path', () => {
  // Blue flags nothing (a threshold above every score); the candidate flags what its own trees do,
  // so their verdicts differ exactly where the candidate sees an anomaly.
  const base = fixturePackage({ name: 'm', seed: 3 });
  const blue: ModelPackage = { ...base, manifest: { ...base.manifest, threshold: 1e9 } };
  const candidate = fixturePackage({ name: 'm', seed: 11 });

  it('returns blue’s result unchanged and captures the candidate’s beside it', async () => {
    const plain = recorder();
    const withShadow = recorder();
    const base = { captureSampleRate: 1, maxRows: 100, logger: quiet };
    const input = { model: 'm', ref: { alias: 'production' }, rows, requestId: 'r' };
    const expected = await scoreRows({ ...base, models: registryOf(blue, candidate), ...plain })(input);
    const got = await scoreRows({
      ...base,
      models: registryOf(blue, candidate),
      ...withShadow,
      shadow: async () => 2,
    })(input);
    expect(got).toEqual(expected);
    // The candidate on its own, as a pinned green would serve it.
    const green = await scoreRows({ ...base, models: registryOf(blue, candidate), ...recorder() })({
      ...input,
      ref: { version: 2 },
    });
    expect(green.version).toBe(2);
    expect(withShadow.rows.map((r) => r.shadow)).toEqual(
      green.results.map((r) => ({ version: 2, score: r.score, anomaly: r.anomaly })),
    );
    expect(plain.rows.every((r) => r.shadow === undefined)).toBe(true);
    const disagree = green.results.filter((r, i) => r.anomaly !== expected.results[i]?.anomaly).length;
    expect(disagree).toBeGreaterThan(0);
    expect(withShadow.value(METRICS.shadowRowsScored)).toBe(rows.length);
    expect(withShadow.value(METRICS.shadowDisagreements)).toBe(disagree);
    expect(withShadow.value(METRICS.shadowAnomalies)).toBe(green.results.filter((r) => r.anomaly).length);
    // Blue's own counters do not count the candidate's rows.
    expect(withShadow.value(METRICS.rowsScored)).toBe(rows.length);
    const shadowRecord = withShadow.emitted.find((e) =>
      e.data.some((d) => d.name === METRICS.shadowRowsScored),
    );
    expect(shadowRecord?.also).toEqual([{ modelVersion: 'm@2' }]);
  });

  it('measures the time the candidate added to the request', async () => {
    const r = recorder();
    let t = 0;
    await scoreRows({
      models: registryOf(blue, candidate),
      ...r,
      captureSampleRate: 0,
      maxRows: 100,
      logger: quiet,
      shadow: async () => 2,
      // Each read of the clock advances it 7 ms: the candidate's span is one step.
      clock: () => (t += 7),
    })({ model: 'm', ref: { alias: 'production' }, rows, requestId: 'r' });
    expect(r.value(METRICS.shadowAddedMs)).toBe(7);
  });

  it('does not shadow explicit-version requests, or when the candidate is what was served', async () => {
    let asked = 0;
    const r = recorder();
    const score = scoreRows({
      models: registryOf(blue, candidate),
      ...r,
      captureSampleRate: 1,
      maxRows: 100,
      logger: quiet,
      shadow: async () => {
        asked++;
        return 1;
      },
    });
    await score({ model: 'm', ref: { version: 1 }, rows, requestId: 'a' });
    expect(asked).toBe(0);
    await score({ model: 'm', ref: { alias: 'production' }, rows, requestId: 'b' });
    expect(asked).toBe(1);
    expect(r.value(METRICS.shadowRowsScored)).toBe(0);
    expect(r.rows.every((x) => x.shadow === undefined)).toBe(true);
  });

  it('serves the caller when the candidate cannot be scored, and counts ShadowErrors', async () => {
    const r = recorder();
    const out = await scoreRows({
      models: registryOf(blue, candidate, { broken: true }),
      ...r,
      captureSampleRate: 1,
      maxRows: 100,
      logger: quiet,
      shadow: async () => 2,
    })({ model: 'm', ref: { alias: 'production' }, rows, requestId: 'r' });
    expect(out.results).toHaveLength(rows.length);
    expect(r.value(METRICS.shadowErrors)).toBe(1);
    expect(r.rows.every((x) => x.shadow === undefined)).toBe(true);
  });
});

const record = (over: Partial<ReleaseRecord>): ReleaseRecord => ({
  model: 'm',
  releaseId: 'r1',
  candidateVersion: 2,
  baselineVersion: 1,
  policy: 'canary10-15m',
  phase: 'shadow',
  weight: 0,
  step: 0,
  startedAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  startedBy: 'api:a',
  judgements: [],
  revision: 1,
  ...over,
});

describe('ReleaseWatch', () => {
  function setup() {
    let now = 0;
    let current: ReleaseRecord | undefined = record({});
    let reads = 0;
    let failing = false;
    const changed: string[] = [];
    const warnings: string[] = [];
    const watch = new ReleaseWatch({
      releases: {
        active: async () => {
          reads++;
          if (failing) throw new Error('table down');
          return current;
        },
      },
      ttlMs: 10_000,
      logger: { ...quiet, warn: (m) => void warnings.push(m) },
      onChange: (m) => void changed.push(m),
      now: () => now,
    });
    return {
      watch,
      changed,
      warnings,
      reads: () => reads,
      tick: (ms: number) => {
        now += ms;
      },
      set: (r: ReleaseRecord | undefined) => {
        current = r;
      },
      fail: (f: boolean) => {
        failing = f;
      },
    };
  }

  it('answers the candidate only in the shadow phase, reading the record once per TTL', async () => {
    const s = setup();
    expect(await s.watch.shadowVersion('m')).toBe(2);
    expect(await s.watch.shadowVersion('m')).toBe(2);
    expect(s.reads()).toBe(1);
    s.set(record({ phase: 'traffic', weight: 0.1, revision: 2 }));
    expect(await s.watch.shadowVersion('m')).toBe(2); // still cached
    s.tick(10_000);
    expect(await s.watch.shadowVersion('m')).toBeUndefined();
    expect(s.reads()).toBe(2);
  });

  it('reports a change of the release (update or end) once, never the first sight or no change', async () => {
    const s = setup();
    await s.watch.shadowVersion('m');
    s.tick(10_000);
    await s.watch.shadowVersion('m');
    expect(s.changed).toEqual([]);
    s.set(record({ revision: 2 }));
    s.tick(10_000);
    await s.watch.shadowVersion('m');
    expect(s.changed).toEqual(['m']);
    s.set(undefined);
    s.tick(10_000);
    await s.watch.shadowVersion('m');
    expect(s.changed).toEqual(['m', 'm']);
  });

  it('keeps the last known state when the record cannot be read, and says so', async () => {
    const s = setup();
    await s.watch.shadowVersion('m');
    s.fail(true);
    s.tick(10_000);
    expect(await s.watch.shadowVersion('m')).toBe(2);
    expect(s.warnings).toHaveLength(1);
    expect(s.changed).toEqual([]);
  });

  it('shares one read among concurrent requests', async () => {
    const s = setup();
    await Promise.all(Array.from({ length: 10 }, () => s.watch.shadowVersion('m')));
    expect(s.reads()).toBe(1);
  });
});
