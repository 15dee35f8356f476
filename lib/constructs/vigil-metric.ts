import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_DIMENSIONS, METRICS_NAMESPACE } from '#contracts';
import type { VigilConfig } from '../config.ts';

/** What selects one Vigil EMF metric. */
export interface VigilMetricOptions {
  /** A value of `METRICS` (lambdas/contracts.ts). */
  readonly metricName: string;
  /** The emitter's `POWERTOOLS_SERVICE_NAME`. */
  readonly service: string;
  readonly statistic: string;
  readonly period: Duration;
  /**
   * The `model` dimension, for per-model metrics.
   * @default - none (service-level metric)
   */
  readonly model?: string;
}

/**
 * A Vigil EMF metric of one environment. The dimension set must equal the emitted one exactly, and
 * `environment` is always in it: without it dev's errors would count towards prod's alarms.
 */
export const vigilMetric = (config: VigilConfig, o: VigilMetricOptions): cloudwatch.Metric =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: o.metricName,
    dimensionsMap: {
      [METRIC_DIMENSIONS.service]: o.service,
      [METRIC_DIMENSIONS.environment]: config.envName,
      ...(o.model === undefined ? {} : { [METRIC_DIMENSIONS.model]: o.model }),
    },
    statistic: o.statistic,
    period: o.period,
  });
