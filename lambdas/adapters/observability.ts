import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, type MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics';
import { ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE, SERVICES } from '#contracts';
import type { Logger, MetricDatum, MetricsSink } from '#core/ports.ts';

/**
 * `MetricsSink` on Powertools EMF. Each `emit` adds its dimensions and values to the
 * emitter and publishes them in the same synchronous step, so nothing stays buffered across
 * an `await`: concurrent requests in one process (the twin, `vigil serve --aws`) can no longer
 * flush each other's metrics under each other's dimensions, which a per-request
 * `addMetric` … `logMetrics` flush did. One shared emitter, because constructing a Powertools
 * `Metrics` costs ~0.1 ms (configuration parsing): too much per request.
 */
export class PowertoolsMetricsSink implements MetricsSink {
  constructor(private readonly metrics: Metrics) {}

  emit(
    data: readonly MetricDatum[],
    dimensions?: Readonly<Record<string, string>>,
    alsoBy?: readonly Readonly<Record<string, string>>[],
  ): void {
    if (data.length === 0) return;
    if (dimensions) this.metrics.addDimensions({ ...dimensions });
    // Each set is its own dimension set of the record; without `dimensions` the record keeps its
    // default set (service, environment) as well, as Powertools writes it when no set is added.
    if (alsoBy?.length) {
      if (!dimensions) this.metrics.addDimensions({});
      for (const set of alsoBy) this.metrics.addDimensions({ ...set });
    }
    for (const d of data) {
      this.metrics.addMetric(
        d.name,
        (d.unit ?? 'Count') as (typeof PowertoolsUnit)[keyof typeof PowertoolsUnit],
        d.value,
      );
    }
    this.metrics.publishStoredMetrics();
  }
}

const serviceName = process.env[ENV.SERVICE_NAME] ?? SERVICES.fallback;

/**
 * The process's Powertools logger: `injectLambdaContext` on each handler adds the request id,
 * cold start and function version to every line. Powertools reads its own settings
 * (`POWERTOOLS_*`, set by the CDK construct or the twin) at construction, hence module scope.
 */
export const powertoolsLogger = new PowertoolsLogger({ serviceName });

/** The logger port over Powertools (attributes become top-level keys of the JSON line). */
export const logger: Logger = {
  debug: (message, attributes) => powertoolsLogger.debug(message, attributes ?? {}),
  info: (message, attributes) => powertoolsLogger.info(message, attributes ?? {}),
  warn: (message, attributes) => powertoolsLogger.warn(message, attributes ?? {}),
  error: (message, attributes) => powertoolsLogger.error(message, attributes ?? {}),
};

/** The process's EMF emitter, behind the `MetricsSink` port. */
const environment = process.env[ENV.ENVIRONMENT];
export const metrics: MetricsSink = new PowertoolsMetricsSink(
  new Metrics({
    namespace: process.env[ENV.METRICS_NAMESPACE] ?? METRICS_NAMESPACE,
    serviceName,
    // A default dimension reaches every metric, single metrics included, so environments that share
    // an account never count towards each other's alarms (the alarms select on it).
    defaultDimensions: environment ? { [METRIC_DIMENSIONS.environment]: environment } : {},
  }),
);
