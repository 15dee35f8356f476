import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE } from '#contracts';

/**
 * One Powertools logger and one EMF metrics emitter per Lambda process,
 * created at module scope so warm invocations reuse them.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'vigil' });
const environment = process.env[ENV.ENVIRONMENT];
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'vigil',
  // A default dimension reaches every metric, single metrics included, so environments that share
  // an account never count towards each other's alarms (the alarms select on it).
  defaultDimensions: environment ? { [METRIC_DIMENSIONS.environment]: environment } : {},
});
