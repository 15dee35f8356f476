import { METRIC_DIMENSIONS, METRICS, modelVersionDimension } from '#contracts';
import type { CaptureCounts, CapturedRow, CaptureSink, Logger, MetricsSink, ModelRef } from '#core/ports.ts';
import { rowsToMatrix, type ScoreResult, scoreMatrix } from '#core/scoring.ts';
import type { ModelCache } from './serve.ts';

export interface ScoreDeps {
  readonly models: Pick<ModelCache, 'get'>;
  readonly captures?: CaptureSink;
  readonly captureSampleRate: number;
  readonly maxRows: number;
  readonly metrics: MetricsSink;
  readonly logger: Logger;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** One score request, already parsed at the edge (rows are checked against the model here). */
export interface ScoreInput {
  readonly model: string;
  readonly ref: ModelRef;
  readonly rows: readonly unknown[];
  readonly requestId: string;
}

/** The scores of one request, in row order (the `POST …/score` response body). */
export interface ScoreOutput {
  readonly model: string;
  readonly version: number;
  readonly threshold: number;
  readonly requestId: string;
  readonly results: ScoreResult[];
}

/**
 * Scores rows with the model the ref names, counts them (`RowsScored`, `Anomalies`) and
 * captures a Bernoulli sample. Errors are typed `VigilError`s (unknown model 404, bad rows 400,
 * unapproved version 403) for the edge to map.
 * @example const out = await scoreRows(deps)({ model: 'default', ref: { alias: 'production' }, rows, requestId })
 */
export function scoreRows(deps: ScoreDeps) {
  return async (input: ScoreInput): Promise<ScoreOutput> => {
    const model = await deps.models.get(input.model, input.ref);
    const x = rowsToMatrix(input.rows, model.manifest.features, deps.maxRows, model.inputType);
    const results = await scoreMatrix(model, x, input.rows.length);
    const anomalies = results.reduce((n, r) => n + (r.anomaly ? 1 : 0), 0);
    const byVersion = [
      { [METRIC_DIMENSIONS.modelVersion]: modelVersionDimension(input.model, model.version) },
    ];
    deps.metrics.emit(
      [
        { name: METRICS.rowsScored, value: results.length },
        { name: METRICS.anomalies, value: anomalies },
      ],
      { model: input.model },
      byVersion,
    );
    const counts = await capture(
      deps,
      input,
      model.version,
      input.requestId,
      model.manifest.features,
      results,
    );
    emitCaptureCounts(deps.metrics, counts, input.model, byVersion);
    return {
      model: input.model,
      version: model.version,
      threshold: model.manifest.threshold,
      requestId: input.requestId,
      results,
    };
  };
}

/**
 * The capture counters of one request, with the request's `model` dimension like `RowsScored`,
 * which they add up to (and, like it, per model version: a release judges capture errors per version). `CaptureErrors` (parked + lost) goes out once more with the service
 * dimension only: the set its alarm watches.
 */
function emitCaptureCounts(
  m: MetricsSink,
  c: CaptureCounts,
  model: string,
  byVersion: readonly Record<string, string>[],
): void {
  m.emit(
    [
      { name: METRICS.capturesWritten, value: c.written },
      { name: METRICS.capturesParked, value: c.parked },
      { name: METRICS.capturesSampledOut, value: c.sampledOut },
      { name: METRICS.capturesLost, value: c.lost },
    ],
    { model },
    byVersion,
  );
  if (c.parked + c.lost > 0) m.emit([{ name: METRICS.captureErrors, value: c.parked + c.lost }]);
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
      deps.logger.error('CAPTURE ROWS LOST', {
        lost,
        parked,
        reason: r.reason ?? 'unknown',
        requestId,
        model: req.model,
      });
    } else if (parked > 0) {
      deps.logger.warn('capture rows parked for replay', {
        parked,
        reason: r.reason,
        requestId,
        model: req.model,
      });
    }
  } catch (error) {
    lost = sample.length;
    deps.logger.error('CAPTURE ROWS LOST', {
      lost,
      reason: (error as Error)?.message,
      requestId,
      model: req.model,
    });
  }
  return { scored, written, parked, sampledOut, lost };
}
