import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PRODUCTION_ALIAS, RETRAINING_EVENT } from '#contracts';
import { VigilError } from '#core/errors.ts';
import { labelValue, predictionKey } from '#core/feedback/labels.ts';
import type { FeedbackStore } from '#core/feedback/ports.ts';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage, trainingScores } from '#core/model/build.ts';
import type { Manifest, ModelPackage } from '#core/model/manifest.ts';
import { decodePackage, encodePackage, PACKAGE_FILES, withVersion } from '#core/model/package-io.ts';
import type { ArtifactStore, CaptureReader, EventPublisher } from '#core/ports.ts';
import { MODEL_NAME_PATTERN, summarizeManifest } from '#core/registry/rules.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import type { RetrainSettings } from '#core/retrain/config.ts';
import {
  completeRowIndices,
  type Dataset,
  datasetFromCaptures,
  datasetFromCsv,
  selectRows,
} from '#core/retrain/dataset.ts';
import { datasetFromParquet, datasetToParquet, isParquet } from '#core/retrain/dataset-parquet.ts';
import { type Evaluation, evaluateCandidate, evaluationMetrics } from '#core/retrain/evaluate.ts';
import { describeGateFailures, type GateVerdict, gate } from '#core/retrain/gate.ts';
import { injectAnomalies, splitHoldout } from '#core/retrain/inject.ts';
import type { BlobStore, Notifier, RetrainingLedger } from '#core/retrain/ports.ts';
import { describeFailure, type ValidationFailure, validateDataset } from '#core/retrain/validate.ts';
import { loadModel } from '#core/scoring.ts';

/**
 * The retraining steps (DESIGN.md §8) as use cases over ports. Each Step Functions task
 * (one Lambda per step, `lambdas/handlers/retrain-*.ts`) calls one of them with the
 * whole state document and gets back the part it adds (the definition puts it at
 * `$.<step>` with ResultPath). Only URIs and small summaries travel in the state:
 * Step Functions limits a state to 256 KB.
 */

/** What every step needs; the handlers wire it from the process runtime, tests pass their own. */
export interface RetrainDeps {
  readonly registry: Pick<
    ModelRegistry,
    'resolve' | 'getVersion' | 'listVersions' | 'register' | 'approve' | 'reject'
  >;
  readonly store: ArtifactStore;
  readonly blobs: BlobStore;
  readonly captures: CaptureReader;
  /** Feedback labels joined onto captured rows (the dataset's label column). Absent: no labels. */
  readonly feedback?: Pick<FeedbackStore, 'list'>;
  readonly ledger: RetrainingLedger;
  readonly notifier: Notifier;
  readonly events: EventPublisher;
  readonly settings: RetrainSettings;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Whether an execution still runs (DescribeExecution; the twin's runner). Absent: leases decide alone. */
  readonly isRunning?: (executionArn: string) => Promise<boolean>;
  /** How long a lock protects a silent holder: the state machine's timeout. @default 6 h */
  readonly lockLeaseMs?: number;
}

const modelName = z.string().regex(MODEL_NAME_PATTERN, 'model must match ^[a-z0-9][a-z0-9_-]{0,62}$');
const window = z.object({ from: z.string().datetime(), to: z.string().datetime() });

/** The execution input: what the trigger (drift rule, schedule, API, CLI) starts a run with. */
export const RetrainInputSchema = z.object({
  model: modelName,
  trigger: z.enum(['drift', 'schedule', 'manual']).default('manual'),
  /** Drift report that triggered the run. */
  driftReportId: z.string().max(200).optional(),
  /** The drift report's window; the training window ends at its end. */
  window: window.optional(),
  /**
   * A user-supplied dataset (`s3://…` in AWS, a path on the twin) instead of captures: CSV, or
   * Parquet (recognised by its magic bytes, whatever the name).
   */
  data: z.string().min(1).max(2048).optional(),
  /** Overrides of the production version's training params. */
  params: z
    .object({
      nEstimators: z.number().int().min(1).max(1000).optional(),
      maxSamples: z.number().int().min(2).max(1_000_000).optional(),
      contamination: z.union([z.literal('auto'), z.number().gt(0).lt(0.5)]).optional(),
    })
    .strict()
    .optional(),
  /** Seed of split, injector and forest; derived from the execution name when absent. */
  seed: z.number().int().min(0).max(0x7fffffff).optional(),
});
export type RetrainInput = z.infer<typeof RetrainInputSchema>;

/** Step Functions context passed beside the state (`$$.Execution`). */
const ExecutionSchema = z.object({ id: z.string().min(1), name: z.string().min(1) });
export type ExecutionRef = z.infer<typeof ExecutionSchema>;

export interface LockResult {
  readonly acquired: boolean;
  /** The execution that holds the lock when this one did not get it. */
  readonly holder?: string;
}

export interface PrepareResult {
  readonly datasetUri: string;
  readonly sha256: string;
  readonly rows: number;
  readonly source: 'captures' | 'upload';
  readonly window: { readonly from: string; readonly to: string } | null;
  /** Captured rows left out to undo the capture sampling bias (see `datasetFromCaptures`). */
  readonly thinnedOut: number;
  /** Rows carrying a feedback label (0 for an uploaded dataset: its own `__label` column counts). */
  readonly labelledRows: number;
  readonly features: readonly string[];
  readonly parentVersion: number;
  readonly parentUri: string;
  readonly seed: number;
}

export interface ValidateResult {
  readonly ok: boolean;
  readonly failures: readonly ValidationFailure[];
  /** One line per failure, for the notification. */
  readonly messages: readonly string[];
}

export interface TrainResult {
  readonly candidateUri: string;
  readonly sha256: string;
  readonly trainRows: number;
  readonly holdoutRows: number;
  /** Rows left out for a missing value. */
  readonly droppedRows: number;
  readonly params: {
    readonly nEstimators: number;
    readonly maxSamples: number;
    readonly contamination: number | 'auto';
  };
  readonly seed: number;
  readonly trainedOn: 'lambda' | 'eks';
}

export interface EvaluateResult {
  readonly evaluation: Evaluation;
  readonly metrics: Record<string, number>;
}

export interface GateResult extends GateVerdict {
  readonly reasons: readonly string[];
}

export interface RegisterResult {
  readonly version: number;
  readonly artifactUri: string;
  readonly approval: 'PendingManualApproval' | 'Approved' | 'Rejected';
}

/** The state document as the steps see it (each step reads only what it needs). */
export const RetrainStateSchema = RetrainInputSchema.extend({
  prepare: z.custom<PrepareResult>().optional(),
  validation: z.custom<ValidateResult>().optional(),
  train: z.custom<TrainResult>().optional(),
  evaluate: z.custom<EvaluateResult>().optional(),
  gate: z.custom<GateResult>().optional(),
  register: z.custom<RegisterResult>().optional(),
  /** The Release step's child execution (its Status and ARN), once it ended well. */
  release: z.object({ status: z.string(), executionArn: z.string().optional() }).optional(),
  outcome: z.string().optional(),
  /** What a Catch put there: `{ Error, Cause }`. */
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).passthrough().optional(),
});
export type RetrainState = z.infer<typeof RetrainStateSchema>;

/** A step's event: the state document and the execution it belongs to. */
export const StepEventSchema = z.object({
  state: z.unknown(),
  execution: ExecutionSchema,
  taskToken: z.string().optional(),
});

/** How a run ended; each one is a `vigil.retraining.<outcome>` event. */
export const OUTCOMES = [
  'succeeded',
  'validation-failed',
  'gate-failed',
  'rejected',
  // The Release step's machine rolled the registered candidate back (issue 11).
  'release-rolled-back',
  'errored',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * Parses a step event.
 * @throws VigilError BadRequest naming the first bad field (the state machine's Catch reports it)
 */
export function parseStepEvent(event: unknown): { state: RetrainState; execution: ExecutionRef } {
  const e = StepEventSchema.safeParse(event);
  if (!e.success) throw badRequest('step event', e.error);
  const s = RetrainStateSchema.safeParse(e.data.state);
  if (!s.success) throw badRequest('retraining state', s.error);
  return { state: s.data, execution: e.data.execution };
}

const badRequest = (what: string, error: z.ZodError) => {
  const i = error.issues[0];
  return new VigilError('BadRequest', `Invalid ${what} at ${i?.path.join('.') || '(root)'}: ${i?.message}`);
};

const need = <T>(value: T | undefined, step: string): T => {
  if (value === undefined) throw new VigilError('BadRequest', `Retraining state has no '${step}' result yet`);
  return value;
};

/** The seed recorded in lineage: the input's, else derived from the (unique) execution name. */
export const seedFor = (input: Pick<RetrainInput, 'seed'>, execution: ExecutionRef): number =>
  input.seed ?? createHash('sha256').update(execution.name).digest().readUInt32BE(0) >>> 1;

const runPrefix = (model: string, execution: ExecutionRef) => `retraining/${model}/${execution.name}`;

/** Builds the step functions. */
export function createRetrainSteps(deps: RetrainDeps) {
  const now = deps.now ?? (() => new Date());
  const settings = deps.settings;

  const productionPackage = async (model: string) => {
    const resolved = await deps.registry.resolve(model, { alias: PRODUCTION_ALIAS });
    const pkg = await deps.store.getPackage(resolved.artifactUri);
    return { resolved, pkg };
  };

  /**
   * A dataset by URI, Parquet when the bytes say so (what PrepareData writes, or a user's file),
   * else CSV (a user's file, or a run prepared before datasets were Parquet).
   */
  const loadDataset = async (uri: string): Promise<Dataset> => {
    const bytes = await deps.blobs.get(uri);
    const parquet = isParquet(bytes);
    try {
      return parquet ? await datasetFromParquet(bytes) : datasetFromCsv(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      const what = parquet ? 'a valid dataset Parquet file' : 'a valid CSV';
      throw new VigilError('BadRequest', `Dataset ${uri} is not ${what}: ${(e as Error).message}`, { uri });
    }
  };

  const loadCandidate = async (uri: string): Promise<ModelPackage> => {
    const [manifest, onnx] = await Promise.all([
      deps.blobs.get(`${uri}/${PACKAGE_FILES.manifest}`),
      deps.blobs.get(`${uri}/${PACKAGE_FILES.model}`),
    ]);
    return decodePackage({ manifest, onnx }, uri);
  };

  /** The rows Train trains on and Evaluate holds out: complete rows, split by the recorded seed. */
  const split = (ds: Dataset, seed: number) => {
    const complete = completeRowIndices(ds);
    const parts = splitHoldout(complete.length, settings.holdoutShare, seed);
    const pick = (idx: Int32Array) =>
      selectRows(
        ds,
        Int32Array.from(idx, (i) => complete[i]),
      );
    return { train: pick(parts.train), holdout: pick(parts.holdout), dropped: ds.rows - complete.length };
  };

  const history = (
    model: string,
    execution: ExecutionRef,
    type: 'retraining-started' | 'retraining-skipped' | 'retraining-finished',
    extra: { reason?: string; outcome?: string; version?: number } = {},
  ) =>
    deps.ledger.appendEvent(model, {
      id: `${type}#${execution.name}`,
      at: now().toISOString(),
      type,
      actor: 'retraining',
      executionArn: execution.id,
      ...extra,
    });

  return {
    /**
     * AcquireLock: one execution per model. A second trigger while one runs is
     * recorded (history + `vigil.retraining.skipped`) and ends as Skipped.
     */
    async acquireLock(event: unknown): Promise<LockResult> {
      const { state, execution } = parseStepEvent(event);
      const r = await deps.ledger.acquire(state.model, execution.id, {
        now: now(),
        leaseMs: deps.lockLeaseMs ?? 6 * 3600_000,
        isRunning: deps.isRunning,
      });
      if (r.acquired) {
        await history(state.model, execution, 'retraining-started', {
          reason: r.tookOverFrom
            ? `trigger ${state.trigger}; took over the lock of ended execution ${r.tookOverFrom.executionArn}`
            : `trigger ${state.trigger}`,
        });
        return { acquired: true };
      }
      const reason = `another retraining (${r.holder.executionArn}) holds the lock since ${r.holder.acquiredAt}`;
      await history(state.model, execution, 'retraining-skipped', { reason });
      await deps.events.publish([
        {
          source: RETRAINING_EVENT.source,
          detailType: RETRAINING_EVENT.detailType('skipped'),
          detail: {
            model: state.model,
            executionArn: execution.id,
            trigger: state.trigger,
            holder: r.holder.executionArn,
          },
        },
      ]);
      return { acquired: false, holder: r.holder.executionArn };
    },

    /** PrepareData: captures of the window (or the user's CSV / Parquet) → a dataset in the blob store. */
    async prepareData(event: unknown): Promise<PrepareResult> {
      const { state, execution } = parseStepEvent(event);
      const { resolved, pkg } = await productionPackage(state.model);
      const features = pkg.manifest.features;
      const seed = seedFor(state, execution);
      let dataset: Dataset;
      let dataWindow: PrepareResult['window'] = null;
      let thinnedOut = 0;
      let labelled = 0;
      if (state.data) {
        const uploaded = await loadDataset(state.data);
        // Columns are matched by name; a CSV without every feature goes on as it is so
        // ValidateData names the schema difference.
        const index = features.map((f) => uploaded.features.indexOf(f));
        dataset = index.every((i) => i >= 0)
          ? { ...uploaded, features, columns: index.map((i) => uploaded.columns[i]) }
          : uploaded;
      } else {
        const end = state.window ? new Date(state.window.to) : now();
        const start = new Date(
          (state.window ? new Date(state.window.from) : end).getTime() - settings.windowDays * 86_400_000,
        );
        dataWindow = { from: start.toISOString(), to: end.toISOString() };
        const [rows, labels] = await Promise.all([
          deps.captures.readWindow(state.model, start, end),
          deps.feedback ? deps.feedback.list(state.model) : Promise.resolve([]),
        ]);
        const rng = new Rng(seed ^ 0x7a11);
        const built = datasetFromCaptures(
          rows,
          features,
          () => rng.next(),
          new Map(labels.map((l) => [predictionKey(l.requestId, l.index), labelValue(l.label)])),
        );
        dataset = built.dataset;
        thinnedOut = built.thinnedOut;
        labelled = built.labelled;
      }
      // Parquet between the steps: column-wise, so no single string bounds the dataset's size.
      const bytes = datasetToParquet(dataset);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const datasetUri = await deps.blobs.put(`${runPrefix(state.model, execution)}/dataset.parquet`, bytes);
      return {
        datasetUri,
        sha256,
        rows: dataset.rows,
        source: state.data ? 'upload' : 'captures',
        window: dataWindow,
        thinnedOut,
        labelledRows: labelled,
        features: dataset.features,
        parentVersion: resolved.version,
        parentUri: resolved.artifactUri,
        seed,
      };
    },

    /** ValidateData: every check against the production manifest's features. */
    async validateData(event: unknown): Promise<ValidateResult> {
      const { state } = parseStepEvent(event);
      const prepare = need(state.prepare, 'prepare');
      const [ds, parent] = await Promise.all([
        loadDataset(prepare.datasetUri),
        deps.store.getPackage(prepare.parentUri),
      ]);
      const r = validateDataset(ds, parent.manifest.features, settings.validation);
      return { ok: r.ok, failures: r.failures, messages: r.failures.map(describeFailure) };
    },

    /**
     * Train: Vigil's isolation forest with the production version's params (or the
     * input's overrides), packaged exactly as `vigil train` packages it (reference
     * sample, covers, threshold), staged in the blob store for Register.
     */
    async train(event: unknown, trainedOn: TrainResult['trainedOn'] = 'lambda'): Promise<TrainResult> {
      const { state, execution } = parseStepEvent(event);
      const prepare = need(state.prepare, 'prepare');
      const [ds, parent] = await Promise.all([
        loadDataset(prepare.datasetUri),
        deps.store.getPackage(prepare.parentUri),
      ]);
      const params = trainingParams(parent.manifest, state.params);
      const { train, holdout, dropped } = split(ds, prepare.seed);
      const forest = trainIsolationForest(train.columns, {
        nEstimators: params.nEstimators,
        maxSamples: params.maxSamples,
        seed: prepare.seed,
      });
      const pkg = buildIsolationForestPackage({
        name: state.model,
        features: train.features,
        columns: train.columns,
        forest,
        contamination: params.contamination,
        createdAt: now().toISOString(),
        dataSha256: prepare.sha256,
        window: prepare.window,
        scores: params.contamination === 'auto' ? undefined : trainingScores(forest, train.columns),
      });
      const files = encodePackage(pkg);
      const prefix = `${runPrefix(state.model, execution)}/candidate`;
      // Manifest last: a reader that finds it finds the whole package.
      await deps.blobs.put(`${prefix}/${PACKAGE_FILES.model}`, files.onnx);
      const manifestUri = await deps.blobs.put(`${prefix}/${PACKAGE_FILES.manifest}`, files.manifest);
      return {
        candidateUri: manifestUri.slice(0, -(PACKAGE_FILES.manifest.length + 1)),
        sha256: pkg.manifest.sha256,
        trainRows: train.rows,
        holdoutRows: holdout.rows,
        droppedRows: dropped,
        params: {
          nEstimators: forest.nEstimators,
          maxSamples: forest.psi,
          contamination: params.contamination,
        },
        seed: prepare.seed,
        trainedOn,
      };
    },

    /** Evaluate: candidate vs production on the holdout the candidate did not train on. */
    async evaluate(event: unknown): Promise<EvaluateResult> {
      const { state } = parseStepEvent(event);
      const prepare = need(state.prepare, 'prepare');
      const trained = need(state.train, 'train');
      const [ds, parent, candidate] = await Promise.all([
        loadDataset(prepare.datasetUri),
        deps.store.getPackage(prepare.parentUri),
        loadCandidate(trained.candidateUri),
      ]);
      const { holdout } = split(ds, trained.seed);
      if (holdout.rows === 0) throw new VigilError('InsufficientData', 'The holdout is empty');
      const injected = injectAnomalies(holdout.columns, {
        count: Math.max(50, Math.round(settings.injectedShare * holdout.rows)),
        seed: trained.seed ^ 0x1a7ec7,
      });
      const scoresOf = async (pkg: ModelPackage) => {
        const model = await loadModel(pkg);
        const byName = (cols: readonly Float64Array[], names: readonly string[]) =>
          pkg.manifest.features.map((f) => cols[names.indexOf(f)]);
        const score = async (cols: readonly Float64Array[], names: readonly string[]) => {
          const c = byName(cols, names);
          const n = c[0]?.length ?? 0;
          const x = new Float32Array(n * c.length);
          for (let i = 0; i < n; i++) for (let f = 0; f < c.length; f++) x[i * c.length + f] = c[f][i];
          const s = (await model.engine.score(x, n)).score;
          // The evaluation compares "higher = more anomalous" scores; flip a model that says otherwise.
          return pkg.manifest.output.higherIsAnomalous ? s : s.map((v) => -v);
        };
        const threshold = pkg.manifest.output.higherIsAnomalous
          ? pkg.manifest.threshold
          : -pkg.manifest.threshold;
        return {
          threshold,
          holdout: await score(holdout.columns, holdout.features),
          injected: await score(injected.columns, holdout.features),
        };
      };
      const schemaKept = parent.manifest.features.every((f) => holdout.features.includes(f));
      const contamination = trained.params.contamination;
      const evaluation = evaluateCandidate({
        candidate: await scoresOf(candidate),
        production: schemaKept ? await scoresOf(parent) : undefined,
        labels: holdout.labels,
        minLabelsPerClass: settings.gate.minLabelsPerClass,
        anomalyRate: {
          target: contamination === 'auto' ? settings.anomalyRate.target : contamination,
          tolerance: settings.anomalyRate.tolerance,
        },
      });
      return { evaluation, metrics: evaluationMetrics(evaluation) };
    },

    /** Gate: the environment's thresholds over the evaluation. */
    async gate(event: unknown): Promise<GateResult> {
      const { state } = parseStepEvent(event);
      const evaluated = need(state.evaluate, 'evaluate');
      const prepare = need(state.prepare, 'prepare');
      const parent = await deps.store.getPackage(prepare.parentUri);
      const verdict = gate(
        evaluated.evaluation,
        { candidate: prepare.features, production: parent.manifest.features },
        settings.gate,
      );
      return { ...verdict, reasons: describeGateFailures(verdict) };
    },

    /**
     * Register: a new registry version with lineage (parent, data window + sha256, drift
     * report, execution, seed) and the evaluation in its metrics. Where the environment
     * needs no approval the version is approved here; otherwise it stays
     * PendingManualApproval for the approval state. A retried Register finds the
     * version it already made (by execution) instead of making a second.
     */
    async register(event: unknown): Promise<RegisterResult> {
      const { state, execution } = parseStepEvent(event);
      const prepare = need(state.prepare, 'prepare');
      const trained = need(state.train, 'train');
      const evaluated = need(state.evaluate, 'evaluate');
      const existing = (await deps.registry.listVersions(state.model)).find(
        (v) => v.lineage.executionArn === execution.id,
      );
      let version =
        existing ??
        (await (async () => {
          const staged = await loadCandidate(trained.candidateUri);
          const manifest: Manifest = {
            ...staged.manifest,
            metrics: { ...staged.manifest.metrics, ...evaluated.metrics },
          };
          const pkg = { manifest, onnx: staged.onnx };
          return deps.registry.register({
            name: state.model,
            sha256: manifest.sha256,
            summary: summarizeManifest(manifest),
            metrics: manifest.metrics,
            lineage: {
              parentVersion: prepare.parentVersion,
              dataWindow: prepare.window,
              dataSha256: prepare.sha256,
              driftReportId: state.driftReportId,
              executionArn: execution.id,
              seed: trained.seed,
            },
            actor: 'retraining',
            reason: `retraining ${execution.name} (trigger ${state.trigger})`,
            store: (v) => deps.store.putPackage(state.model, v, withVersion(pkg, v)),
          });
        })());
      if (!settings.approvalRequired && version.approval === 'PendingManualApproval') {
        version = await deps.registry.approve(state.model, version.version, {
          actor: 'retraining',
          reason: 'this environment needs no manual approval of retrained versions',
        });
      }
      return { version: version.version, artifactUri: version.artifactUri, approval: version.approval };
    },

    /**
     * WaitForApproval (`waitForTaskToken`, where the environment requires approval): keeps
     * the token beside the candidate version and announces it. The execution waits until
     * the approve/reject route answers with the token, or the state's timeout ends it.
     */
    async requestApproval(event: unknown): Promise<{ requested: true; version: number }> {
      const { state, execution } = parseStepEvent(event);
      const token = z.object({ taskToken: z.string().min(1) }).safeParse(event);
      if (!token.success)
        throw new VigilError('BadRequest', 'WaitForApproval needs the task token in its payload');
      const registered = need(state.register, 'register');
      await deps.ledger.putApprovalRequest(state.model, registered.version, {
        taskToken: token.data.taskToken,
        executionArn: execution.id,
        requestedAt: now().toISOString(),
      });
      const body = {
        model: state.model,
        version: registered.version,
        executionArn: execution.id,
        summary: `version ${registered.version} passed the gate and waits for approval`,
        ...(state.evaluate ? { metrics: state.evaluate.metrics } : {}),
      };
      await deps.events.publish([
        {
          source: RETRAINING_EVENT.source,
          detailType: RETRAINING_EVENT.detailType('approval-requested'),
          detail: body,
        },
      ]);
      await deps.notifier.notify({
        subject: `Vigil: approve version ${registered.version} of ${state.model}?`,
        body,
      });
      return { requested: true, version: registered.version };
    },

    /**
     * Notify: every terminal state. One SNS message, one `vigil.retraining.<outcome>`
     * event, one history event on the model; then the lock is released.
     */
    async notify(event: unknown): Promise<{ outcome: Outcome; notified: true }> {
      const { state, execution } = parseStepEvent(event);
      const outcome = (OUTCOMES as readonly string[]).includes(state.outcome ?? '')
        ? (state.outcome as Outcome)
        : 'errored';
      // A rejection or an approval timeout leaves the candidate Rejected (a person's rejection
      // has already recorded it; a timeout has not).
      let registered = state.register;
      if (registered) {
        // The approval as it stands now: Register saw it pending where a person decided later.
        let v = await deps.registry.getVersion(state.model, registered.version);
        if (outcome === 'rejected' && v.approval === 'PendingManualApproval') {
          v = await deps.registry.reject(state.model, v.version, {
            actor: 'retraining',
            reason: `no approval before the timeout (${state.error?.Error ?? 'rejected'})`,
          });
        }
        registered = { ...registered, approval: v.approval };
      }
      const body = notificationBody({ ...state, register: registered }, execution, outcome);
      await history(state.model, execution, 'retraining-finished', {
        outcome,
        version: state.register?.version,
        reason: String(body.summary),
      });
      await deps.events.publish([
        { source: RETRAINING_EVENT.source, detailType: RETRAINING_EVENT.detailType(outcome), detail: body },
      ]);
      await deps.notifier.notify({ subject: `Vigil retraining of ${state.model}: ${outcome}`, body });
      await deps.ledger.release(state.model, execution.id);
      return { outcome, notified: true };
    },
  };
}

export type RetrainSteps = ReturnType<typeof createRetrainSteps>;

/** Production's params, overridden by the input's; Vigil's defaults where neither says. */
export function trainingParams(
  parent: Manifest,
  overrides: RetrainInput['params'],
): { nEstimators: number; maxSamples: number; contamination: number | 'auto' } {
  const p = parent.params;
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : d);
  const c = p.contamination;
  return {
    nEstimators: overrides?.nEstimators ?? num(p.nEstimators, 100),
    // The manifest records the ψ used (min(256, rows)); a larger dataset keeps the requested 256.
    maxSamples: overrides?.maxSamples ?? Math.max(num(p.maxSamples, 256), 256),
    contamination:
      overrides?.contamination ?? (c === 'auto' || (typeof c === 'number' && c > 0 && c < 0.5) ? c : 'auto'),
  };
}

/** The notification: what happened and the numbers behind it. */
export function notificationBody(
  state: RetrainState,
  execution: ExecutionRef,
  outcome: Outcome,
): Record<string, unknown> {
  const summary =
    outcome === 'succeeded'
      ? `version ${state.register?.version} registered (${state.register?.approval})${state.release ? ' and released' : ''}`
      : outcome === 'validation-failed'
        ? `data failed validation: ${state.validation?.messages.join('; ')}`
        : outcome === 'gate-failed'
          ? `candidate failed the gate: ${state.gate?.reasons.join('; ')}`
          : outcome === 'rejected'
            ? `version ${state.register?.version} was rejected`
            : outcome === 'release-rolled-back'
              ? `version ${state.register?.version} registered; its release rolled back (see GET /v1/models/${state.model}/releases)`
              : `retraining failed: ${state.error?.Error ?? 'error'}: ${truncate(state.error?.Cause ?? '', 500)}`;
  return {
    model: state.model,
    outcome,
    summary,
    executionArn: execution.id,
    trigger: state.trigger,
    ...(state.driftReportId ? { driftReportId: state.driftReportId } : {}),
    ...(state.prepare ? { rows: state.prepare.rows, parentVersion: state.prepare.parentVersion } : {}),
    ...(state.validation && !state.validation.ok ? { validationFailures: state.validation.failures } : {}),
    ...(state.gate ? { gate: { passed: state.gate.passed, checks: state.gate.checks } } : {}),
    ...(state.evaluate ? { metrics: state.evaluate.metrics } : {}),
    ...(state.register ? { version: state.register.version, approval: state.register.approval } : {}),
    ...(state.release ? { release: state.release } : {}),
    ...(state.error
      ? { error: { name: state.error.Error, cause: truncate(state.error.Cause ?? '', 2000) } }
      : {}),
  };
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

export type { TaskAnswer } from '#core/retrain/ports.ts';
// The approval decision lives beside the other control-plane use cases (no classic zod there:
// the models function's bundle carries it); re-exported for the steps' callers.
export { createApprovalDecision } from './retrain-control.ts';
