import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { logger, metrics } from '#adapters/observability.ts';
import { METRICS } from '#contracts';
import type { CapturedRow, CaptureSink } from '#core/ports.ts';
import { type FeatureMatrix, rowsToMatrix, scoreMatrix } from '#core/scoring.ts';
import { type HttpEvent, type HttpResult, json } from '#runtime/http.ts';
import { parseRowsRequest } from '#runtime/request.ts';
import type { ModelCache } from './serve.ts';

export interface ScoreDeps {
  readonly models: ModelCache;
  readonly captures?: CaptureSink;
  readonly captureSampleRate: number;
  readonly maxRows: number;
  readonly pinnedVersion?: number;
  readonly alias: string;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** EMF emitter. @default the process-wide Powertools metrics */
  readonly metrics?: Metrics;
}

/**
 * `POST /v1/models/{model}/score`: validate → score → capture a sample →
 * respond. Every error is a typed VigilError mapped by `httpHandler`.
 */
export function scoreRequest(deps: ScoreDeps) {
  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const req = parseRowsRequest(event, { version: deps.pinnedVersion, alias: deps.alias });
    const model = await deps.models.get(req.model, req.ref);
    const x = rowsToMatrix(req.rows, model.manifest.features, deps.maxRows, model.inputType);
    const results = await scoreMatrix(model, x, req.rows.length);
    const requestId = context.awsRequestId;
    const anomalies = results.reduce((n, r) => n + (r.anomaly ? 1 : 0), 0);
    const m = deps.metrics ?? metrics;
    m.addDimensions({ model: req.model });
    m.addMetric(METRICS.rowsScored, 'Count', results.length);
    m.addMetric(METRICS.anomalies, 'Count', anomalies);
    if (deps.captures && deps.captureSampleRate > 0) {
      await capture(deps, req.model, model.version, requestId, model.manifest.features, x, results);
    }
    return json(200, {
      model: req.model,
      version: model.version,
      threshold: model.manifest.threshold,
      requestId,
      results,
    });
  };
}

/**
 * `CaptureErrors` with the service dimension only: the alarm watches that exact dimension
 * set, and the request's `model` dimension would otherwise be attached too.
 */
const captureErrors = (m: Metrics, n: number): void => {
  m.singleMetric().addMetric(METRICS.captureErrors, 'Count', n);
};

/**
 * Writes a Bernoulli sample of the scored rows to the capture sink. A capture
 * failure never fails the request: it is logged and counted (`CaptureErrors`).
 */
async function capture(
  deps: ScoreDeps,
  model: string,
  version: number,
  requestId: string,
  names: readonly string[],
  x: FeatureMatrix,
  results: { score: number; anomaly: boolean }[],
): Promise<void> {
  const random = deps.random ?? Math.random;
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const nf = names.length;
  const rate = Math.min(1, deps.captureSampleRate);
  const sample: CapturedRow[] = [];
  results.forEach((result, index) => {
    if (deps.captureSampleRate >= 1 || random() < deps.captureSampleRate) {
      // The float32 values the model actually scored: also always inside DynamoDB's number
      // range (a float64 like 1e-140 is not, and would make the whole batch fail).
      const features: Record<string, number> = {};
      for (let k = 0; k < nf; k++) features[names[k]] = x[index * nf + k];
      sample.push({ model, version, at, requestId, index, features, ...result, sampleRate: rate });
    }
  });
  if (sample.length === 0) return;
  try {
    const { parked, lost, reason } = await (deps.captures as CaptureSink).write(sample);
    const failed = parked + lost;
    if (failed > 0) {
      logger.error('capture rows not written', { parked, lost, reason, requestId, model });
      captureErrors(deps.metrics ?? metrics, failed);
    }
  } catch (error) {
    logger.error('capture failed', { error: error as Error, requestId, model });
    captureErrors(deps.metrics ?? metrics, sample.length);
  }
}
