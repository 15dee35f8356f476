import { VigilError } from '#core/errors.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import type {
  ExecutionInfo,
  RetrainingExecutions,
  RetrainingLedger,
  TaskAnswer,
} from '#core/retrain/ports.ts';
import type { ExecutionStep } from '#core/retrain/steps.ts';

/**
 * The retraining control plane (DESIGN.md §8 triggers and approval): start an execution by
 * hand, list a model's executions with the step each is in, and decide a version that waits
 * for approval — recording the decision and answering the waiting execution.
 */
export interface RetrainControlDeps {
  readonly registry: Pick<ModelRegistry, 'listVersions' | 'approve' | 'reject'>;
  readonly executions: RetrainingExecutions;
  readonly ledger: Pick<RetrainingLedger, 'getApprovalRequest'>;
  readonly answer: TaskAnswer;
}

/** A manual retraining request (validated at the edge: the HTTP handler, the CLI). */
export interface RetrainRequest {
  /** A dataset URI (`s3://…` in AWS, a path on the twin) instead of the captured window. */
  readonly data?: string;
  /** Overrides of production's training params. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Seed of split, injector and forest (else derived from the execution name). */
  readonly seed?: number;
}

/** One execution of a model's retraining, as the API lists it. */
export interface RetrainingRun {
  readonly executionArn: string;
  readonly name: string;
  readonly status: ExecutionInfo['status'];
  /** The state it is in (RUNNING), or ended in. */
  readonly step?: string;
  readonly trigger?: string;
  readonly startDate: string;
  readonly stopDate?: string;
  readonly error?: string;
  readonly cause?: string;
}

/**
 * Starts a retraining execution of `model` (`trigger: manual`).
 * @throws VigilError NotFound when the model has no versions
 */
export async function startRetraining(
  deps: Pick<RetrainControlDeps, 'registry' | 'executions'>,
  model: string,
  request: RetrainRequest,
): Promise<{ readonly executionArn: string; readonly startDate: string }> {
  const versions = await deps.registry.listVersions(model);
  if (versions.length === 0)
    throw new VigilError('NotFound', `Model '${model}' has no versions to retrain`, { model });
  return deps.executions.start({
    model,
    trigger: 'manual',
    ...(request.data !== undefined ? { data: request.data } : {}),
    ...(request.params !== undefined ? { params: request.params } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
  });
}

/** How many of the machine's recent executions a listing looks through for the model's. */
const SCAN = 100;

/** A run as the API shows it, from the execution's description. */
const runOf = (e: ExecutionInfo): RetrainingRun => ({
  executionArn: e.executionArn,
  name: e.name,
  status: e.status,
  ...(e.step ? { step: e.step } : {}),
  ...(typeof (e.input as { trigger?: unknown } | undefined)?.trigger === 'string'
    ? { trigger: (e.input as { trigger: string }).trigger }
    : {}),
  startDate: e.startDate,
  ...(e.stopDate ? { stopDate: e.stopDate } : {}),
  ...(e.error ? { error: e.error } : {}),
  ...(e.cause ? { cause: e.cause } : {}),
});

const modelOf = (e: ExecutionInfo): unknown => (e.input as { model?: unknown } | undefined)?.model;

/** One run with the steps it went through. */
export interface RetrainingRunDetail extends RetrainingRun {
  readonly steps: ExecutionStep[];
  /** The history was longer than was read (its first events only are steps here). */
  readonly historyTruncated: boolean;
}

/**
 * One retraining execution of `model`, by name, with its steps in order.
 * @throws VigilError NotFound for an unknown execution, or one that retrains another model
 */
export async function describeRetraining(
  deps: Pick<RetrainControlDeps, 'executions'>,
  model: string,
  name: string,
): Promise<RetrainingRunDetail> {
  const arn = deps.executions.arnOf(name);
  const e = await deps.executions.describe(arn);
  // Another model's execution is as unknown here as a missing one: the route is per model.
  const notFound = () =>
    new VigilError('NotFound', `No retraining execution '${name}' of model '${model}'`, {
      model,
      execution: name,
    });
  if (!e || modelOf(e) !== model) throw notFound();
  const h = await deps.executions.history(arn);
  if (!h) throw notFound();
  return { ...runOf(e), steps: h.steps, historyTruncated: h.truncated };
}

/** The model's recent retraining executions, newest first (at most `limit`). */
export async function listRetraining(
  deps: Pick<RetrainControlDeps, 'executions'>,
  model: string,
  limit = 20,
): Promise<RetrainingRun[]> {
  const all = await deps.executions.list(SCAN);
  return all
    .filter((e) => modelOf(e) === model)
    .slice(0, limit)
    .map(runOf);
}

/**
 * The approve/reject decision on a retrained version waiting in WaitForApproval (what
 * `POST /v1/models/{model}/versions/{v}/approve|reject` and `vigil models approve|reject` call):
 * records it in the registry, then answers the waiting execution with the stored task token —
 * success, or the `Rejected` error the definition's Catch ends cleanly on.
 * @throws VigilError NotFound when no execution waits for this version
 */
export function createApprovalDecision(deps: {
  readonly registry: Pick<ModelRegistry, 'approve' | 'reject'>;
  readonly ledger: RetrainControlDeps['ledger'];
  readonly answer: TaskAnswer;
}) {
  return async (
    model: string,
    version: number,
    decision: 'approve' | 'reject',
    ctx: { readonly actor: string; readonly reason?: string },
  ) => {
    const request = await deps.ledger.getApprovalRequest(model, version);
    if (!request) {
      throw new VigilError(
        'NotFound',
        `No retraining execution waits for approval of ${model} version ${version}`,
        { model, version },
      );
    }
    const v =
      decision === 'approve'
        ? await deps.registry.approve(model, version, ctx)
        : await deps.registry.reject(model, version, ctx);
    if (decision === 'approve')
      await deps.answer.success(request.taskToken, { approved: true, by: ctx.actor });
    else await deps.answer.failure(request.taskToken, 'Rejected', ctx.reason ?? `rejected by ${ctx.actor}`);
    return { version: v, executionArn: request.executionArn };
  };
}

/**
 * Approves or rejects a version: through {@link createApprovalDecision} when a retraining
 * execution waits for it (the decision also answers the execution), else in the registry alone.
 */
export async function decideVersion(
  deps: {
    readonly registry: Pick<ModelRegistry, 'approve' | 'reject'>;
    readonly retraining?: Pick<RetrainControlDeps, 'ledger' | 'answer'>;
  },
  model: string,
  version: number,
  decision: 'approve' | 'reject',
  ctx: { readonly actor: string; readonly reason?: string },
) {
  const waiting = deps.retraining && (await deps.retraining.ledger.getApprovalRequest(model, version));
  if (deps.retraining && waiting) {
    const d = await createApprovalDecision({ registry: deps.registry, ...deps.retraining })(
      model,
      version,
      decision,
      ctx,
    );
    return { ...d.version, executionArn: d.executionArn };
  }
  return decision === 'approve'
    ? deps.registry.approve(model, version, ctx)
    : deps.registry.reject(model, version, ctx);
}
