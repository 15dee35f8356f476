import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmfMetricsStore, nearestRank } from '#adapters/emf-metrics-store.ts';
import { PowertoolsMetricsSink } from '#adapters/observability.ts';
import { LAMBDA_METRICS, METRIC_DIMENSIONS, METRICS, modelVersionDimension } from '#contracts';
import type { MetricsSink } from '#core/ports.ts';

/** EMF lines Powertools writes while `fn` runs (dev mode: through console.log). */
function emfDuring(fn: (m: MetricsSink) => void): string[] {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    fn(new PowertoolsMetricsSink(new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' })));
  } finally {
    spy.mockRestore();
  }
  return lines.filter((l) => l.startsWith('{"_aws"'));
}

const mv = (v: number) => ({ [METRIC_DIMENSIONS.modelVersion]: modelVersionDimension('cpu', v) });
const exec = (v: string) => ({
  [LAMBDA_METRICS.dimensions.functionName]: 'score',
  [LAMBDA_METRICS.dimensions.resource]: 'score:live',
  [LAMBDA_METRICS.dimensions.executedVersion]: v,
});

describe('EmfMetricsStore', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('writes the per-version set beside the alarms’ set in the same record', () => {
    const [line] = emfDuring((m) =>
      m.emit([{ name: METRICS.rowsScored, value: 3 }], { model: 'cpu' }, [mv(2)]),
    );
    const rec = JSON.parse(String(line));
    expect(rec._aws.CloudWatchMetrics[0].Dimensions.map((d: string[]) => [...d].sort())).toEqual([
      ['model', 'service'],
      ['modelVersion', 'service'],
    ]);
    expect(rec).toMatchObject({ model: 'cpu', modelVersion: 'cpu@2', RowsScored: 3 });
  });

  it('reads blue and green apart by model version and executed version, within the window', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    let now = t0;
    const store = new EmfMetricsStore({ now: () => now });
    const lines = emfDuring((m) => {
      m.emit(
        [
          { name: METRICS.rowsScored, value: 90 },
          { name: METRICS.anomalies, value: 9 },
        ],
        { model: 'cpu' },
        [mv(1)],
      );
      m.emit(
        [
          { name: METRICS.rowsScored, value: 10 },
          { name: METRICS.anomalies, value: 7 },
        ],
        { model: 'cpu' },
        [mv(2)],
      );
      m.emit(
        [
          { name: METRICS.capturesParked, value: 1 },
          { name: METRICS.capturesLost, value: 2 },
        ],
        { model: 'cpu' },
        [mv(2)],
      );
      m.emit([{ name: METRICS.serverErrors, value: 1 }], undefined, [mv(2)]);
      // A 500 of unknown version counts for neither.
      m.emit([{ name: METRICS.serverErrors, value: 1 }]);
      m.emit([{ name: METRICS.dependencyErrors, value: 1 }], undefined, [mv(1)]);
    });
    // Powertools stamps its own time: feed the lines as parsed objects with our clock's time.
    for (const l of lines) {
      const rec = JSON.parse(l);
      rec._aws.Timestamp = t0 + 1000;
      store.ingest(rec);
    }
    for (let i = 1; i <= 100; i++) store.record(LAMBDA_METRICS.duration, exec('1'), i, t0 + 2000);
    for (const d of [5, 400]) store.record(LAMBDA_METRICS.duration, exec('2'), d, t0 + 2000);
    for (let i = 0; i < 100; i++) store.record(LAMBDA_METRICS.invocations, exec('1'), 1, t0 + 2000);
    store.record(LAMBDA_METRICS.invocations, exec('2'), 1, t0 + 2000);
    store.record(LAMBDA_METRICS.invocations, exec('2'), 1, t0 + 2000);
    store.record(LAMBDA_METRICS.errors, exec('2'), 1, t0 + 2000);
    // Outside the window: ignored.
    store.record(LAMBDA_METRICS.errors, exec('2'), 1, t0 + 60_000);
    now = t0 + 120_000;
    store.ingest(
      `{"_aws":{"CloudWatchMetrics":[{"Dimensions":[["service","modelVersion"]],"Metrics":[{"Name":"Anomalies"}]}]},"service":"s","modelVersion":"cpu@2","Anomalies":50}`,
    );

    const r = await store.read({
      model: 'cpu',
      blue: { functionVersion: '1', modelVersion: 1 },
      green: { functionVersion: '2', modelVersion: 2 },
      from: new Date(t0),
      to: new Date(t0 + 60_000),
    });
    expect(r.blue).toEqual({
      functionVersion: '1',
      modelVersion: 1,
      invocations: 100,
      errors: 0,
      serverErrors: 0,
      dependencyErrors: 1,
      p99DurationMs: 99,
      rowsScored: 90,
      anomalies: 9,
      captureErrors: 0,
    });
    expect(r.green).toEqual({
      functionVersion: '2',
      modelVersion: 2,
      invocations: 2,
      errors: 1,
      serverErrors: 1,
      dependencyErrors: 0,
      p99DurationMs: 400,
      rowsScored: 10,
      anomalies: 7,
      captureErrors: 3,
    });
  });

  it('gives no p99 without invocations and ignores lines that are not EMF', async () => {
    const store = new EmfMetricsStore();
    store.ingest('hello');
    store.ingest('{"_aws": nope');
    store.ingest({ level: 'INFO' });
    const r = await store.read({
      model: 'cpu',
      blue: { functionVersion: '1', modelVersion: 1 },
      green: { functionVersion: '2', modelVersion: 2 },
      from: new Date(0),
      to: new Date(),
    });
    expect(r.green.p99DurationMs).toBeUndefined();
    expect(r.green.invocations).toBe(0);
  });

  it('keeps at most maxPoints, dropping the oldest', () => {
    const store = new EmfMetricsStore({ maxPoints: 100 });
    for (let i = 0; i < 250; i++) store.record('X', {}, i, i);
    const kept = store.values('X', {}, new Date(0), new Date(1000));
    expect(kept.length).toBeLessThanOrEqual(100);
    expect(kept.at(-1)).toBe(249);
  });

  it('takes the nearest-rank percentile (numpy method="inverted_cdf")', () => {
    // numpy.percentile(range(1, 11), 99, method='inverted_cdf') == 10; (…, 50, …) == 5
    const xs = [3, 1, 2, 10, 9, 8, 7, 6, 5, 4];
    expect(nearestRank(xs, 0.99)).toBe(10);
    expect(nearestRank(xs, 0.5)).toBe(5);
    expect(nearestRank([7], 0.99)).toBe(7);
    expect(nearestRank([], 0.99)).toBeUndefined();
  });
});
