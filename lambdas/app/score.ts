import { METRICS } from '#contracts';
import type { CapturedRow, CaptureSink, Logger, MetricsSink, ModelRef } from '#core/ports.ts';
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
    const x = rowsToMatrix(input.rows, model.manifest.features, deps.maxRows);
    const results = await scoreMatrix(model, x, input.rows.length);
    const anomalies = results.reduce((n, r) => n + (r.anomaly ? 1 : 0), 0);
    deps.metrics.emit(
      [
        { name: METRICS.rowsScored, value: results.length },
        { name: METRICS.anomalies, value: anomalies },
      ],
      { model: input.model },
    );
    if (deps.captures && deps.captureSampleRate > 0) {
      await capture(deps, input.model, model.version, input.requestId, model.manifest.features, x, results);
    }
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
 * `CaptureErrors` with the service dimension only: the alarm watches that exact dimension set.
 */
const captureErrors = (m: MetricsSink, n: number): void => {
  m.emit([{ name: METRICS.captureErrors, value: n }]);
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
  x: Float32Array,
  results: ScoreResult[],
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
      deps.logger.error('capture rows not written', { parked, lost, reason, requestId, model });
      captureErrors(deps.metrics, failed);
    }
  } catch (error) {
    deps.logger.error('capture failed', { error, requestId, model });
    captureErrors(deps.metrics, sample.length);
  }
}
