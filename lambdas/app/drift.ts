import { DRIFT_EVENT, METRICS, PRODUCTION_ALIAS } from '#contracts';
import { thinToUniform } from '#core/capture/sampling.ts';
import { driftConfigForModel } from '#core/drift/config.ts';
import { buildDriftReport, type DriftReport } from '#core/drift/report.ts';
import { Rng } from '#core/forest/rng.ts';
import type {
  ArtifactStore,
  CaptureReader,
  DriftReportStore,
  EventPublisher,
  Logger,
  Manifest,
  MetricsSink,
  MetricUnit,
  StoredDriftReport,
} from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/types.ts';

/** Which models to evaluate: one by name, else the configured list, else every registered model. */
export interface DriftRequest {
  readonly model?: string;
}

/** What the evaluator needs; the drift-evaluate handler wires it from the composition root, tests pass their own. */
export interface DriftEvaluatorDeps {
  readonly registry: Pick<ModelRegistry, 'resolve' | 'listModels'>;
  readonly store: ArtifactStore;
  readonly captures: CaptureReader;
  readonly reports: DriftReportStore;
  readonly events: EventPublisher;
  readonly metrics: MetricsSink;
  readonly logger: Logger;
  /** Drift settings `{ default, models }` (see `DriftSettingsSchema`). @default {} — the defaults */
  readonly settings?: unknown;
  /** Window of captures compared with the reference. @default 60 */
  readonly windowMinutes?: number;
  /** Models evaluated when the event names none; empty → every registered model. */
  readonly models?: readonly string[];
  /** Alias whose version is evaluated. @default production */
  readonly alias?: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** One line of the evaluator's result, per model. */
export interface DriftSummary {
  readonly model: string;
  readonly version: number;
  readonly status: StoredDriftReport['status'];
  readonly drift: boolean | null;
  readonly driftedShare: number;
  readonly reportId: string;
  /** Whether a `vigil.drift.detected` event was published. */
  readonly published: boolean;
}

/** Some models could not be evaluated (or their event not published); the others' results are in `results`. */
export class DriftEvaluationError extends Error {
  constructor(
    readonly results: readonly DriftSummary[],
    readonly failures: ReadonlyArray<{ readonly model: string; readonly error: string }>,
  ) {
    super(`drift evaluation failed for ${failures.map((f) => `${f.model} (${f.error})`).join(', ')}`);
    this.name = 'DriftEvaluationError';
  }
}

/**
 * Builds the drift evaluator. For each model (the event's, else `models`,
 * else every registered one): resolve the alias's version, load its package
 * manifest, read the captures of the last `windowMinutes`, build the report,
 * store it, emit EMF metrics, and publish `vigil.drift.detected` when it says
 * drift. A window without enough data yields a stored `insufficient_data`
 * report, no event and no error. One model's failure does not stop the
 * others; it is reported at the end as a `DriftEvaluationError`, so the
 * scheduler's retry and dead-letter queue see it.
 * @example await createDriftEvaluator(deps)({ model: 'default' })
 */
export function createDriftEvaluator(deps: DriftEvaluatorDeps) {
  const log = deps.logger;
  const now = deps.now ?? (() => new Date());
  const windowMs = (deps.windowMinutes ?? 60) * 60_000;
  const alias = deps.alias ?? PRODUCTION_ALIAS;
  // Packages are immutable: a version's manifest is fetched once per process.
  const manifests = new Map<string, Promise<Manifest>>();
  const manifestOf = (model: string, version: number, uri: string): Promise<Manifest> => {
    const key = `${model}@${version}`;
    let p = manifests.get(key);
    if (!p) {
      p = deps.store.getPackage(uri).then((pkg) => pkg.manifest);
      manifests.set(key, p);
      p.catch(() => manifests.delete(key));
    }
    return p;
  };

  const evaluateModel = async (model: string): Promise<DriftSummary> => {
    const config = driftConfigForModel(deps.settings ?? {}, model);
    const resolved = await deps.registry.resolve(model, { alias });
    const manifest = await manifestOf(model, resolved.version, resolved.artifactUri);
    const to = now();
    const from = new Date(to.getTime() - windowMs);
    // Every row in the window counts, whichever version scored it: drift is about the inputs.
    // Thinned back to the traffic's mix (anomalies are captured at rate 1, normal rows at the
    // model's rate), seeded by the window's end so a re-run of one window gives one report.
    const rng = new Rng(to.getTime() % 0x1_0000_0000);
    const captured = thinToUniform(await deps.captures.readWindow(model, from, to), () => rng.next());
    const report = buildDriftReport({
      manifest: { ...manifest, name: model, version: resolved.version },
      rows: captured.map((r) => r.features),
      window: { from: from.toISOString(), to: to.toISOString() },
      config,
    });
    return recordDriftReport(deps, { model, version: resolved.version, report, at: to });
  };

  return async (request: DriftRequest = {}): Promise<DriftSummary[]> => {
    const models = request.model
      ? [request.model]
      : deps.models && deps.models.length > 0
        ? [...deps.models]
        : (await deps.registry.listModels()).map((m) => m.name);
    const results: DriftSummary[] = [];
    const failures: { model: string; error: string }[] = [];
    for (const model of models) {
      try {
        results.push(await evaluateModel(model));
      } catch (error) {
        log.error('drift evaluation failed', { model, error });
        deps.metrics.emit([{ name: METRICS.driftEvaluationErrors, unit: 'Count', value: 1 }], { model });
        failures.push({ model, error: (error as Error).message });
      }
    }
    if (failures.length > 0) throw new DriftEvaluationError(results, failures);
    return results;
  };
}

/**
 * What happens to a report once built, the same for the in-memory evaluator and the reduce step
 * of the distributed one: store it, emit its EMF metrics, and publish `vigil.drift.detected`
 * when it says drift.
 */
export async function recordDriftReport(
  deps: Pick<DriftEvaluatorDeps, 'reports' | 'events' | 'metrics' | 'logger'>,
  input: {
    readonly model: string;
    readonly version: number;
    readonly report: DriftReport;
    readonly at: Date;
  },
): Promise<DriftSummary> {
  const { model, version, report } = input;
  const emit = (name: string, unit: MetricUnit, value: number, dims: Record<string, string>) =>
    deps.metrics.emit([{ name, unit, value }], dims);
  const stored = await deps.reports.put(report, { createdAt: input.at.toISOString() });

  emit(METRICS.capturedRows, 'Count', report.n, { model });
  if (report.status === 'ok') {
    emit(METRICS.driftedFeatureShare, 'None', report.driftedShare, { model });
    emit(METRICS.drift, 'None', report.drift ? 1 : 0, { model });
    for (const [feature, f] of Object.entries(report.features)) {
      if (f.status === 'ok') emit(METRICS.driftScore, 'None', f.score, { model, feature });
    }
  }
  deps.logger.info('drift report stored', {
    model,
    version,
    reportId: stored.id,
    status: report.status,
    drift: report.drift,
    driftedShare: report.driftedShare,
    rows: report.n,
  });

  const summary = {
    model,
    version,
    status: report.status,
    drift: report.drift,
    driftedShare: report.driftedShare,
    reportId: stored.id,
  };
  if (report.drift !== true) return { ...summary, published: false };
  const drifted = Object.entries(report.features).filter(([, f]) => f.drifted);
  await deps.events.publish([
    {
      source: DRIFT_EVENT.source,
      detailType: DRIFT_EVENT.detailType,
      time: stored.createdAt,
      // A summary, not the report: an EventBridge entry is limited to 256 KB. Consumers
      // fetch the full report by id (GET /v1/models/{model}/drift).
      detail: {
        model,
        version,
        reportId: stored.id,
        window: report.window,
        n: report.n,
        driftedShare: report.driftedShare,
        driftShare: report.driftShare,
        confidence: report.confidence,
        driftedFeatures: drifted.map(([name]) => name),
        scores: Object.fromEntries(drifted.map(([name, f]) => [name, f.score])),
      },
    },
  ]);
  return { ...summary, published: true };
}
