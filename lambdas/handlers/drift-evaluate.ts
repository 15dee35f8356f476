import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import type { DriftReportStore, StoredDriftReport } from '#adapters/dynamodb-drift-reports.ts';
import { EventBridgePublisher, FileEventPublisher, MemoryEventPublisher } from '#adapters/events.ts';
import { logger as defaultLogger, metrics as defaultMetrics } from '#adapters/observability.ts';
import { DRIFT_EVENT, METRICS, PRODUCTION_ALIAS } from '#contracts';
import { driftConfigForModel } from '#core/drift/config.ts';
import { buildDriftReport } from '#core/drift/report.ts';
import type { ArtifactStore, CaptureReader, EventPublisher, Manifest } from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { type Runtime, runtime } from '#runtime/root.ts';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** The part of Powertools `Metrics` the evaluator uses. */
export interface DriftMetrics {
  singleMetric(): {
    addDimensions(dimensions: Record<string, string>): unknown;
    addMetric(name: string, unit: Unit, value: number): unknown;
  };
}

/** What the evaluator needs; `handler` wires it from `runtime()`, tests pass their own. */
export interface DriftEvaluatorDeps {
  readonly registry: Pick<ModelRegistry, 'resolve' | 'listModels'>;
  readonly store: ArtifactStore;
  readonly captures: CaptureReader;
  readonly reports: DriftReportStore;
  readonly events: EventPublisher;
  /** @default the process-wide Powertools metrics */
  readonly metrics?: DriftMetrics;
  readonly logger?: Pick<typeof defaultLogger, 'info' | 'warn' | 'error'>;
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

/** The scheduled event: EventBridge Scheduler passes the payload configured per schedule. */
const EventSchema = z.object({
  model: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
    .optional(),
});

/**
 * Builds the drift evaluator. For each model (the event's, else `models`,
 * else every registered one): resolve the alias's version, load its package
 * manifest, read the captures of the last `windowMinutes`, build the report,
 * store it, emit EMF metrics, and publish `vigil.drift.detected` when it says
 * drift. A window without enough data yields a stored `insufficient_data`
 * report, no event and no error. One model's failure does not stop the
 * others; it is reported at the end as a `DriftEvaluationError`. The
 * scheduler invokes asynchronously, so its retries cover delivery only: the
 * error gets Lambda's async retries, then lands in the function's on-failure
 * destination (lib/stacks/drift-stack.ts), and its Errors metric is alarmed.
 * @example await createDriftEvaluator(deps)({ model: 'default' })
 */
export function createDriftEvaluator(deps: DriftEvaluatorDeps) {
  const log = deps.logger ?? defaultLogger;
  const metrics = deps.metrics ?? defaultMetrics;
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

  // Single metrics, each with its own dimension set, so nothing mixes with
  // other handlers' buffered metrics in a shared process (the local twin).
  const emit = (name: string, unit: Unit, value: number, dims: Record<string, string>) => {
    const m = metrics.singleMetric();
    m.addDimensions(dims);
    m.addMetric(name, unit, value);
  };

  const evaluateModel = async (model: string): Promise<DriftSummary> => {
    const config = driftConfigForModel(deps.settings ?? {}, model);
    const resolved = await deps.registry.resolve(model, { alias });
    const manifest = await manifestOf(model, resolved.version, resolved.artifactUri);
    const to = now();
    const from = new Date(to.getTime() - windowMs);
    // Every row in the window counts, whichever version scored it: drift is about the inputs.
    const captured = await deps.captures.readWindow(model, from, to);
    const report = buildDriftReport({
      manifest: { ...manifest, name: model, version: resolved.version },
      rows: captured.map((r) => r.features),
      window: { from: from.toISOString(), to: to.toISOString() },
      config,
    });
    const stored = await deps.reports.put(report, { createdAt: to.toISOString() });

    emit('CapturedRows', MetricUnit.Count, captured.length, { model });
    if (report.status === 'ok') {
      emit(METRICS.driftedFeatureShare, MetricUnit.NoUnit, report.driftedShare, { model });
      emit(METRICS.drift, MetricUnit.NoUnit, report.drift ? 1 : 0, { model });
      for (const [feature, f] of Object.entries(report.features)) {
        if (f.status === 'ok') emit(METRICS.driftScore, MetricUnit.NoUnit, f.score, { model, feature });
      }
    }
    log.info('drift report stored', {
      model,
      version: resolved.version,
      reportId: stored.id,
      status: report.status,
      drift: report.drift,
      driftedShare: report.driftedShare,
      rows: captured.length,
    });

    const summary = {
      model,
      version: resolved.version,
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
          version: resolved.version,
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
  };

  return async (event: unknown): Promise<DriftSummary[]> => {
    const parsed = EventSchema.safeParse(event ?? {});
    if (!parsed.success) {
      throw new Error(`Invalid drift evaluation event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    const models = parsed.data.model
      ? [parsed.data.model]
      : deps.models && deps.models.length > 0
        ? [...deps.models]
        : (await deps.registry.listModels()).map((m) => m.name);
    const results: DriftSummary[] = [];
    const failures: { model: string; error: string }[] = [];
    for (const model of models) {
      try {
        results.push(await evaluateModel(model));
      } catch (error) {
        log.error('drift evaluation failed', { model, error: error as Error });
        emit('DriftEvaluationErrors', MetricUnit.Count, 1, { model });
        failures.push({ model, error: (error as Error).message });
      }
    }
    if (failures.length > 0) throw new DriftEvaluationError(results, failures);
    return results;
  };
}

/** The event publisher the environment asks for: EventBridge, else a JSON-lines file, else the log. */
export function eventPublisherFromConfig(
  config: Runtime['config'],
  log: Pick<typeof defaultLogger, 'warn'> = defaultLogger,
): EventPublisher {
  if (config.eventBusName) {
    return new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: config.eventBusName });
  }
  if (config.eventsFile) return new FileEventPublisher(config.eventsFile);
  return new MemoryEventPublisher((e) =>
    log.warn('no event bus or events file configured: event logged only', { event: e }),
  );
}

/** Drift evaluator deps from the process runtime. @throws Error naming the missing table */
export function driftDepsFromRuntime(rt: Runtime): DriftEvaluatorDeps {
  if (!rt.captureReader) throw new Error('Environment variable VIGIL_CAPTURES_TABLE is required');
  if (!rt.driftReports) throw new Error('Environment variable VIGIL_DRIFT_TABLE is required');
  return {
    registry: rt.registry,
    store: rt.store,
    captures: rt.captureReader,
    reports: rt.driftReports,
    events: eventPublisherFromConfig(rt.config),
    settings: rt.config.driftSettings,
    windowMinutes: rt.config.driftWindowMinutes,
    models: rt.config.driftModels,
  };
}

let wired: { rt: Runtime; evaluate: ReturnType<typeof createDriftEvaluator> } | undefined;

/**
 * Lambda entry point (`HANDLERS.driftEvaluate`), invoked by EventBridge
 * Scheduler with `{ model }` (or `{}` for every configured model). Wired once
 * per runtime, so the local twin's restarts get fresh adapters.
 */
export const handler = async (event: unknown): Promise<DriftSummary[]> => {
  const rt = runtime();
  if (wired?.rt !== rt) wired = { rt, evaluate: createDriftEvaluator(driftDepsFromRuntime(rt)) };
  return wired.evaluate(event);
};
