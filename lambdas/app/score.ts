import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { logger, metrics } from '#adapters/observability.ts';
import { METRICS } from '#contracts';
import type { CaptureCounts, CapturedRow, CaptureSink } from '#core/ports.ts';
import { rowsToMatrix, scoreMatrix } from '#core/scoring.ts';
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
    const counts = await capture(deps, req, model.version, requestId, model.manifest.features, results);
    emitCaptureCounts(m, counts);
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
 * The capture counters of one request, with the request's `model` dimension like `RowsScored`,
 * which they add up to. `CaptureErrors` (parked + lost) goes out once more with the service
 * dimension only: the set its alarm watches.
 */
function emitCaptureCounts(m: Metrics, c: CaptureCounts): void {
  m.addMetric(METRICS.capturesWritten, 'Count', c.written);
  m.addMetric(METRICS.capturesParked, 'Count', c.parked);
  m.addMetric(METRICS.capturesSampledOut, 'Count', c.sampledOut);
  m.addMetric(METRICS.capturesLost, 'Count', c.lost);
  if (c.parked + c.lost > 0) m.singleMetric().addMetric(METRICS.captureErrors, 'Count', c.parked + c.lost);
}

/**
 * Writes a Bernoulli sample of the scored rows to the capture sink and accounts for every
 * row: `scored = written + parked + sampledOut + lost` (CaptureCounts). A capture failure never
 * fails the request; it is logged with its real reason and counted.
 *
 * The features stored are the values the caller sent (validated against the model's input
 * domain), not their float32 rounding: drift is judged, and models retrained, on the data as
 * it was, and the sink stores every such value exactly.
 */
async function capture(
  deps: ScoreDeps,
  req: { readonly model: string; readonly rows: readonly unknown[] },
  version: number,
  requestId: string,
  names: readonly string[],
  results: { score: number; anomaly: boolean }[],
): Promise<CaptureCounts> {
  const scored = results.length;
  const none = { scored, written: 0, parked: 0, sampledOut: scored, lost: 0 };
  if (!deps.captures || deps.captureSampleRate <= 0) return none;
  const random = deps.random ?? Math.random;
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const rate = Math.min(1, deps.captureSampleRate);
  const sample: CapturedRow[] = [];
  results.forEach((result, index) => {
    if (rate >= 1 || random() < rate) {
      const row = req.rows[index] as Record<string, number>;
      const features: Record<string, number> = {};
      for (const name of names) features[name] = row[name];
      sample.push({ model: req.model, version, at, requestId, index, features, ...result, sampleRate: rate });
    }
  });
  const sampledOut = scored - sample.length;
  if (sample.length === 0) return { ...none, sampledOut };
  let written = 0;
  let parked = 0;
  let lost = 0;
  try {
    const r = await deps.captures.write(sample);
    ({ written, parked } = r);
    // Whatever the sink did not account for is lost, so the buckets always add up.
    lost = Math.max(0, sample.length - written - parked);
    if (lost > 0) {
      logger.error('CAPTURE ROWS LOST', {
        lost,
        parked,
        reason: r.reason ?? 'unknown',
        requestId,
        model: req.model,
      });
    } else if (parked > 0) {
      logger.warn('capture rows parked for replay', {
        parked,
        reason: r.reason,
        requestId,
        model: req.model,
      });
    }
  } catch (error) {
    lost = sample.length;
    logger.error('CAPTURE ROWS LOST', {
      lost,
      reason: (error as Error)?.message,
      requestId,
      model: req.model,
    });
  }
  return { scored, written, parked, sampledOut, lost };
}
