import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  LAMBDA_METRICS,
  METRIC_DIMENSIONS,
  METRICS,
  METRICS_NAMESPACE,
  modelVersionDimension,
  SCORE_LIVE_ALIAS,
  SERVICES,
} from '#contracts';
import type { ReleaseMetricsReader } from '#core/release/ports.ts';
import type { VersionReadings, VersionRef } from '#core/release/types.ts';

/** The one method of the SDK client this adapter uses. */
export type CloudWatchSend = Pick<CloudWatchClient, 'send'>;

/** Vigil's EMF counters a release reads per model version (`{ service, environment, modelVersion }`). */
const VIGIL_SUMS = {
  rowsScored: METRICS.rowsScored,
  anomalies: METRICS.anomalies,
  serverErrors: METRICS.serverErrors,
  dependencyErrors: METRICS.dependencyErrors,
  capturesParked: METRICS.capturesParked,
  capturesLost: METRICS.capturesLost,
} as const;

/**
 * Per-version readings from CloudWatch `GetMetricData` (one call, paginated): Lambda's own
 * `Invocations`, `Errors` (Sum) and `Duration` (p99) by `ExecutedVersion` on the `live` alias, and
 * Vigil's EMF counters by the `modelVersion` dimension. The window is one period (rounded up to
 * whole minutes, CloudWatch's resolution for these metrics), so each query yields one datapoint;
 * any extra datapoints are summed.
 */
export class CloudWatchReleaseMetrics implements ReleaseMetricsReader {
  readonly #cw: CloudWatchSend;
  readonly #fn: string;
  readonly #alias: string;
  readonly #namespace: string;
  readonly #service: string;
  readonly #environment?: string;

  constructor(opts: CloudWatchReleaseMetricsOptions) {
    if (!opts.functionName) throw new Error('CloudWatchReleaseMetrics: functionName is required');
    this.#cw = opts.client;
    this.#fn = opts.functionName;
    this.#alias = opts.aliasName ?? SCORE_LIVE_ALIAS;
    this.#namespace = opts.namespace ?? METRICS_NAMESPACE;
    this.#service = opts.service ?? SERVICES.score;
    this.#environment = opts.environment;
  }

  async read(query: {
    readonly model: string;
    readonly blue: VersionRef;
    readonly green: VersionRef;
    readonly from: Date;
    readonly to: Date;
  }): Promise<{ readonly blue: VersionReadings; readonly green: VersionReadings }> {
    const span = Math.max(0, query.to.getTime() - query.from.getTime());
    const period = Math.max(60, Math.ceil(span / 60_000) * 60);
    const queries = [
      ...this.#queries('b', query.model, query.blue, period),
      ...this.#queries('g', query.model, query.green, period),
    ];
    const values = new Map<string, number[]>();
    let token: string | undefined;
    do {
      const out: GetMetricDataCommandOutput = await this.#cw.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: query.from,
          EndTime: new Date(query.from.getTime() + period * 1000),
          ScanBy: 'TimestampAscending',
          NextToken: token,
        }),
      );
      for (const r of out.MetricDataResults ?? []) {
        if (!r.Id) continue;
        values.set(r.Id, [...(values.get(r.Id) ?? []), ...(r.Values ?? [])]);
      }
      token = out.NextToken;
    } while (token);
    return {
      blue: toReadings('b', query.blue, values),
      green: toReadings('g', query.green, values),
    };
  }

  #queries(prefix: string, model: string, v: VersionRef, period: number): MetricDataQuery[] {
    const lambdaDims = [
      { Name: LAMBDA_METRICS.dimensions.functionName, Value: this.#fn },
      { Name: LAMBDA_METRICS.dimensions.resource, Value: `${this.#fn}:${this.#alias}` },
      { Name: LAMBDA_METRICS.dimensions.executedVersion, Value: v.functionVersion },
    ];
    const lambda = (id: string, name: string, stat: string): MetricDataQuery => ({
      Id: `${prefix}_${id}`,
      MetricStat: {
        Metric: { Namespace: LAMBDA_METRICS.namespace, MetricName: name, Dimensions: lambdaDims },
        Period: period,
        Stat: stat,
      },
      ReturnData: true,
    });
    const vigilDims = [
      { Name: METRIC_DIMENSIONS.service, Value: this.#service },
      ...(this.#environment ? [{ Name: METRIC_DIMENSIONS.environment, Value: this.#environment }] : []),
      { Name: METRIC_DIMENSIONS.modelVersion, Value: modelVersionDimension(model, v.modelVersion) },
    ];
    return [
      lambda('invocations', LAMBDA_METRICS.invocations, 'Sum'),
      lambda('errors', LAMBDA_METRICS.errors, 'Sum'),
      lambda('p99', LAMBDA_METRICS.duration, 'p99'),
      ...Object.entries(VIGIL_SUMS).map(
        ([id, name]): MetricDataQuery => ({
          Id: `${prefix}_${id}`,
          MetricStat: {
            Metric: { Namespace: this.#namespace, MetricName: name, Dimensions: vigilDims },
            Period: period,
            Stat: 'Sum',
          },
          ReturnData: true,
        }),
      ),
    ];
  }
}

/** Options of the CloudWatch reader. */
export interface CloudWatchReleaseMetricsOptions {
  readonly client: CloudWatchSend;
  /** The score function (`ENV.SCORE_FUNCTION_NAME`). */
  readonly functionName: string;
  /** @default SCORE_LIVE_ALIAS */
  readonly aliasName?: string;
  /** Vigil's EMF namespace. @default METRICS_NAMESPACE */
  readonly namespace?: string;
  /** The score function's `service` dimension. @default SERVICES.score */
  readonly service?: string;
  /** The `environment` dimension every Vigil metric carries in a deployment (`ENV.ENVIRONMENT`). */
  readonly environment?: string;
}

function toReadings(prefix: string, v: VersionRef, values: Map<string, number[]>): VersionReadings {
  const sum = (id: string) => (values.get(`${prefix}_${id}`) ?? []).reduce((a, b) => a + b, 0);
  const p99s = values.get(`${prefix}_p99`) ?? [];
  const invocations = sum('invocations');
  // One period per window, so one p99; should CloudWatch split it, the worst period is the honest one.
  const p99 = invocations > 0 && p99s.length > 0 ? Math.max(...p99s) : undefined;
  return {
    ...v,
    invocations,
    errors: sum('errors'),
    serverErrors: sum('serverErrors'),
    dependencyErrors: sum('dependencyErrors'),
    ...(p99 !== undefined ? { p99DurationMs: p99 } : {}),
    rowsScored: sum('rowsScored'),
    anomalies: sum('anomalies'),
    captureErrors: sum('capturesParked') + sum('capturesLost'),
  };
}
