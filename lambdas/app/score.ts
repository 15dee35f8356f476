import { METRIC_DIMENSIONS, METRICS, modelVersionDimension } from '#contracts';
import type { CaptureCounts, CapturedRow, CaptureSink, Logger, MetricsSink, ModelRef } from '#core/ports.ts';
import { rowsToMatrix, type ScoreResult, scoreMatrix } from '#core/scoring.ts';
import type { ModelCache } from './serve.ts';

export interface ScoreDeps {
  readonly models: Pick<ModelCache, 'get'>;
  readonly captures?: CaptureSink;
  /** Share of a model's normal rows captured, 0..1, unless `captureModelRates` names the model. */
  readonly captureSampleRate: number;
  /** Per-model capture rates, 0..1, overriding `captureSampleRate` (a busy model sampled harder). */
  readonly captureModelRates?: Readonly<Record<string, number>>;
  /**
   * Capture every anomalous row whatever the rate (recorded with `sampleRate` 1): they are what
   * operators inspect, and rare enough that keeping them all costs little. @default true
   */
  readonly captureAnomalies?: boolean;
  readonly maxRows: number;
  readonly metrics: MetricsSink;
  readonly logger: Logger;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /**
   * The release candidate to shadow-score with (`ReleaseWatch.shadowVersion`), asked only for
   * requests served through the alias. Absent: no shadow phase (pinned functions, the CLI).
   */
  readonly shadow?: (model: string) => Promise<number | undefined>;
  /** @default performance.now */
  readonly clock?: () => number;
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
    const shadow = await shadowScore(deps, input, model.version, results);
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
      shadow,
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

interface ShadowResults {
  readonly version: number;
  readonly results: readonly ScoreResult[];
}

/**
 * The shadow phase (DESIGN.md §8): while the model's release is in `shadow`, blue scores the same
 * rows with the candidate too — from the same process's model cache, which then holds both — and
 * never returns that result; the captures carry it beside blue's. Counted per candidate version
 * (`METRICS.shadow*`, with the time it added to the request). A candidate that cannot score the rows
 * (its load fails, other features) costs the caller nothing: logged and counted as `ShadowErrors`.
 */
async function shadowScore(
  deps: ScoreDeps,
  input: ScoreInput,
  servedVersion: number,
  served: readonly ScoreResult[],
): Promise<ShadowResults | undefined> {
  if (!deps.shadow || input.ref.version !== undefined) return undefined;
  let version: number | undefined;
  try {
    version = await deps.shadow(input.model);
  } catch (error) {
    deps.logger.warn('shadow lookup failed; request served without shadow', {
      model: input.model,
      error: (error as Error)?.message,
    });
    return undefined;
  }
  if (version === undefined || version === servedVersion) return undefined;
  const clock = deps.clock ?? (() => performance.now());
  const byVersion = [{ [METRIC_DIMENSIONS.modelVersion]: modelVersionDimension(input.model, version) }];
  const started = clock();
  try {
    const candidate = await deps.models.get(input.model, { version });
    const x = rowsToMatrix(input.rows, candidate.manifest.features, deps.maxRows, candidate.inputType);
    const results = await scoreMatrix(candidate, x, input.rows.length);
    const added = clock() - started;
    let anomalies = 0;
    let disagreements = 0;
    results.forEach((r, i) => {
      if (r.anomaly) anomalies++;
      if (r.anomaly !== served[i]?.anomaly) disagreements++;
    });
    deps.metrics.emit(
      [
        { name: METRICS.shadowRowsScored, value: results.length },
        { name: METRICS.shadowAnomalies, value: anomalies },
        { name: METRICS.shadowDisagreements, value: disagreements },
        { name: METRICS.shadowAddedMs, value: added, unit: 'Milliseconds' },
      ],
      undefined,
      byVersion,
    );
    return { version, results };
  } catch (error) {
    deps.logger.warn('shadow scoring failed; the caller got blue’s result', {
      model: input.model,
      candidateVersion: version,
      requestId: input.requestId,
      error: (error as Error)?.message,
    });
    deps.metrics.emit([{ name: METRICS.shadowErrors, value: 1 }], undefined, byVersion);
    return undefined;
  }
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

/** The capture rate of a model's normal rows: its own rate, else the default, clamped to 0..1. */
export function captureRateOf(
  deps: Pick<ScoreDeps, 'captureSampleRate' | 'captureModelRates'>,
  model: string,
): number {
  const rate = deps.captureModelRates?.[model] ?? deps.captureSampleRate;
  return Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 0;
}

/**
 * Writes a Bernoulli sample of the scored rows to the capture sink and accounts for every
 * row: `scored = written + parked + sampledOut + lost` (CaptureCounts). A capture failure never
 * fails the request; it is logged with its real reason and counted.
 *
 * Each row is kept with probability `sampleRate` — the model's rate, or 1 for an anomalous row
 * when `captureAnomalies` is on — and carries that probability, so a reader weighting rows by
 * `1 / sampleRate` estimates the scored population without bias (Horvitz–Thompson), anomalies
 * over-represented in the sample or not.
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
  shadow?: ShadowResults,
): Promise<CaptureCounts> {
  const scored = results.length;
  const none = { scored, written: 0, parked: 0, sampledOut: scored, lost: 0 };
  const rate = captureRateOf(deps, req.model);
  const anomaliesAlways = deps.captureAnomalies ?? true;
  if (!deps.captures || (rate <= 0 && !anomaliesAlways)) return none;
  const random = deps.random ?? Math.random;
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const sample: CapturedRow[] = [];
  results.forEach((result, index) => {
    const p = anomaliesAlways && result.anomaly ? 1 : rate;
    if (p >= 1 || (p > 0 && random() < p)) {
      const row = req.rows[index] as Record<string, number>;
      const features: Record<string, number> = {};
      for (const name of names) features[name] = row[name];
      const candidate = shadow?.results[index];
      sample.push({
        model: req.model,
        version,
        at,
        requestId,
        index,
        features,
        ...result,
        sampleRate: p,
        ...(shadow && candidate
          ? { shadow: { version: shadow.version, score: candidate.score, anomaly: candidate.anomaly } }
          : {}),
      });
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
