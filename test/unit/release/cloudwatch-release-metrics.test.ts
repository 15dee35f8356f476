import { Metrics } from '@aws-lambda-powertools/metrics';
import type { GetMetricDataCommand, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CloudWatchReleaseMetrics, type CloudWatchSend } from '#adapters/cloudwatch-release-metrics.ts';
import { PowertoolsMetricsSink } from '#adapters/observability.ts';
import { METRIC_DIMENSIONS, METRICS, modelVersionDimension } from '#contracts';

const blue = { functionVersion: '4', modelVersion: 1 };
const green = { functionVersion: '7', modelVersion: 2 };
const from = new Date('2026-01-01T00:00:00Z');
const to = new Date('2026-01-01T00:05:30Z');

/** Answers GetMetricData from a table of id → values, split over two pages. */
function fakeCloudWatch(values: Record<string, number[]>) {
  const seen: GetMetricDataCommand[] = [];
  const client: CloudWatchSend = {
    send: (async (c: GetMetricDataCommand) => {
      seen.push(c);
      const ids = (c.input.MetricDataQueries ?? []).map((q) => String(q.Id));
      const half = Math.ceil(ids.length / 2);
      const page = c.input.NextToken === 'p2' ? ids.slice(half) : ids.slice(0, half);
      return {
        MetricDataResults: page.map((Id) => ({ Id, Values: values[Id] ?? [] })),
        ...(c.input.NextToken ? {} : { NextToken: 'p2' }),
      };
    }) as CloudWatchSend['send'],
  };
  return { client, seen };
}

describe('CloudWatchReleaseMetrics', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('asks for the very dimension set the score path writes per model version', async () => {
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((l: unknown) => void lines.push(String(l)));
    new PowertoolsMetricsSink(
      new Metrics({
        namespace: 'Vigil',
        serviceName: 'vigil-score',
        defaultDimensions: { environment: 'prod' },
      }),
    ).emit([{ name: METRICS.rowsScored, value: 1 }], { model: 'cpu' }, [
      { [METRIC_DIMENSIONS.modelVersion]: modelVersionDimension('cpu', 2) },
    ]);
    spy.mockRestore();
    const rec = JSON.parse(lines[0] as string);
    const written = (rec._aws.CloudWatchMetrics[0].Dimensions as string[][]).find((d) =>
      d.includes('modelVersion'),
    );

    const { client, seen } = fakeCloudWatch({});
    await new CloudWatchReleaseMetrics({ client, functionName: 'score', environment: 'prod' }).read({
      model: 'cpu',
      blue,
      green,
      from,
      to,
    });
    const q = seen[0]?.input.MetricDataQueries?.find((x) => x.Id === 'g_rowsScored') as MetricDataQuery;
    const dims = q.MetricStat?.Metric?.Dimensions ?? [];
    expect(dims.map((d) => d.Name).sort()).toEqual([...(written ?? [])].sort());
    expect(Object.fromEntries(dims.map((d) => [d.Name, d.Value]))).toEqual({
      service: rec.service,
      environment: rec.environment,
      modelVersion: rec.modelVersion,
    });
    expect(q.MetricStat?.Metric?.Namespace).toBe('Vigil');
  });

  it('reads Lambda metrics by ExecutedVersion on the live alias over one whole-minute period', async () => {
    const { client, seen } = fakeCloudWatch({});
    await new CloudWatchReleaseMetrics({ client, functionName: 'score' }).read({
      model: 'cpu',
      blue,
      green,
      from,
      to,
    });
    const input = seen[0]?.input;
    const q = input?.MetricDataQueries?.find((x) => x.Id === 'b_p99') as MetricDataQuery;
    expect(q.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: [
          { Name: 'FunctionName', Value: 'score' },
          { Name: 'Resource', Value: 'score:live' },
          { Name: 'ExecutedVersion', Value: '4' },
        ],
      },
      Period: 360,
      Stat: 'p99',
    });
    expect(input?.StartTime).toEqual(from);
    expect(input?.EndTime).toEqual(new Date(from.getTime() + 360_000));
  });

  it('sums every page into per-version readings, with no p99 when a version had no invocations', async () => {
    const { client, seen } = fakeCloudWatch({
      b_invocations: [900],
      b_errors: [0],
      b_p99: [41.5],
      b_rowsScored: [9000],
      b_anomalies: [90],
      g_invocations: [0],
      g_p99: [],
      g_rowsScored: [40, 60],
      g_anomalies: [30],
      g_serverErrors: [2],
      g_dependencyErrors: [1],
      g_capturesParked: [3],
      g_capturesLost: [1],
    });
    const r = await new CloudWatchReleaseMetrics({ client, functionName: 'score' }).read({
      model: 'cpu',
      blue,
      green,
      from,
      to,
    });
    expect(seen).toHaveLength(2);
    expect(r.blue).toEqual({
      ...blue,
      invocations: 900,
      errors: 0,
      serverErrors: 0,
      dependencyErrors: 0,
      p99DurationMs: 41.5,
      rowsScored: 9000,
      anomalies: 90,
      captureErrors: 0,
    });
    expect(r.green).toEqual({
      ...green,
      invocations: 0,
      errors: 0,
      serverErrors: 2,
      dependencyErrors: 1,
      rowsScored: 100,
      anomalies: 30,
      captureErrors: 4,
    });
  });
});
