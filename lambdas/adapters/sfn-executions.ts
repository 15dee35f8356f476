import type { DescribeExecutionCommandOutput, HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionInfo, RetrainingExecutions, TaskAnswer } from '#core/retrain/ports.ts';
import {
  type ExecutionHistory,
  executionSteps,
  MAX_HISTORY_EVENTS,
  STATE_TYPES,
  type StateType,
  type StepEvent,
} from '#core/retrain/steps.ts';

/** The part of the SFN client the adapters call (tests pass their own `send`). */
export type SfnSend = Pick<SFNClient, 'send'>;

/** The SDK module, imported on first use: only the functions that control executions carry it. */
const sdk = () => import('@aws-sdk/client-sfn');

const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);

/**
 * The retraining machine's executions through Step Functions. `list` is ListExecutions plus a
 * DescribeExecution (for the input: which model) and a reverse GetExecutionHistory page (for the
 * state it is in) per execution: an admin's listing, a few calls per row.
 */
export class SfnExecutions implements RetrainingExecutions {
  readonly #client: SfnSend;
  readonly #arn: string;

  constructor(opts: { readonly client: SfnSend; readonly stateMachineArn: string }) {
    this.#client = opts.client;
    this.#arn = opts.stateMachineArn;
  }

  async start(input: unknown): Promise<{ executionArn: string; startDate: string }> {
    const { StartExecutionCommand } = await sdk();
    // No name: Step Functions generates a unique one (a name may not be reused for 90 days).
    const out = await this.#client.send(
      new StartExecutionCommand({ stateMachineArn: this.#arn, input: JSON.stringify(input) }),
    );
    return {
      executionArn: String(out.executionArn),
      startDate: iso(out.startDate) ?? new Date().toISOString(),
    };
  }

  async list(limit: number): Promise<ExecutionInfo[]> {
    const { ListExecutionsCommand } = await sdk();
    const out = await this.#client.send(
      new ListExecutionsCommand({
        stateMachineArn: this.#arn,
        maxResults: Math.min(Math.max(limit, 1), 1000),
      }),
    );
    const described = await Promise.all(
      (out.executions ?? []).map((e) => this.describe(String(e.executionArn))),
    );
    return described.filter((e): e is ExecutionInfo => e !== undefined);
  }

  /** DescribeExecution; undefined when the execution does not exist. */
  async #described(executionArn: string): Promise<DescribeExecutionCommandOutput | undefined> {
    const { DescribeExecutionCommand } = await sdk();
    try {
      return await this.#client.send(new DescribeExecutionCommand({ executionArn }));
    } catch (e) {
      if ((e as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw e;
    }
  }

  /** `arn:…:stateMachine:M` → `arn:…:execution:M:name`, as Step Functions names executions. */
  arnOf(name: string): string {
    return `${this.#arn.replace(':stateMachine:', ':execution:')}:${name}`;
  }

  /**
   * DescribeExecution for the status, then GetExecutionHistory oldest first, page by page
   * (without execution data: errors and causes still come, inputs and outputs do not), up to
   * {@link MAX_HISTORY_EVENTS} events.
   */
  async history(executionArn: string): Promise<ExecutionHistory | undefined> {
    const { GetExecutionHistoryCommand } = await sdk();
    const d = await this.#described(executionArn);
    if (!d) return undefined;
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#client.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: Math.min(500, MAX_HISTORY_EVENTS - events.length),
          includeExecutionData: false,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken && events.length < MAX_HISTORY_EVENTS);
    return {
      steps: executionSteps(stepEventsOf(events.slice(0, MAX_HISTORY_EVENTS)), {
        status: d.status as ExecutionInfo['status'],
        ...(d.error ? { error: String(d.error) } : {}),
        ...(d.cause ? { cause: String(d.cause) } : {}),
      }),
      truncated: Boolean(nextToken) || events.length > MAX_HISTORY_EVENTS,
    };
  }

  async describe(executionArn: string): Promise<ExecutionInfo | undefined> {
    const { GetExecutionHistoryCommand } = await sdk();
    const d = await this.#described(executionArn);
    if (!d) return undefined;
    const h = await this.#client.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        maxResults: 50,
        includeExecutionData: false,
      }),
    );
    const step = h.events?.find((ev) => ev.type?.endsWith('StateEntered'))?.stateEnteredEventDetails?.name;
    const input = typeof d.input === 'string' ? safeJson(d.input) : undefined;
    return {
      executionArn,
      name: String(d.name),
      status: d.status as ExecutionInfo['status'],
      startDate: iso(d.startDate) ?? '',
      ...(d.stopDate ? { stopDate: iso(d.stopDate) } : {}),
      ...(input !== undefined ? { input } : {}),
      ...(step ? { step } : {}),
      ...(d.error ? { error: String(d.error) } : {}),
      ...(d.cause ? { cause: String(d.cause) } : {}),
    };
  }
}

/** Events that schedule one attempt of a Task state (the first is no retry). */
const SCHEDULED = new Set(['TaskScheduled', 'LambdaFunctionScheduled', 'ActivityScheduled']);
/** Events that end one attempt of a Task state in failure (it may then be retried or caught). */
const TASK_FAILED = new Set([
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionStartFailed',
  'LambdaFunctionScheduleFailed',
  'ActivityFailed',
  'ActivityTimedOut',
  'ActivityScheduleFailed',
]);
const CONTAINER_FAILED = new Set(['MapStateFailed', 'ParallelStateFailed']);

/** The `error`/`cause` of whichever `…EventDetails` member the event carries. */
function errorOf(ev: HistoryEvent): { error: string; cause: string } {
  for (const [k, v] of Object.entries(ev)) {
    if (!k.endsWith('EventDetails') || !v || typeof v !== 'object') continue;
    const d = v as { error?: unknown; cause?: unknown };
    if (d.error !== undefined || d.cause !== undefined)
      return { error: String(d.error ?? ev.type), cause: String(d.cause ?? '') };
  }
  return { error: String(ev.type), cause: '' };
}

/**
 * GetExecutionHistory's events (HistoryEvent, oldest first) as the step fold reads them:
 * `<Type>StateEntered/Exited` name the state (in `stateEntered/ExitedEventDetails.name`) and
 * its type (the prefix); the attempt events in between (TaskScheduled, TaskFailed …) name none.
 */
export function* stepEventsOf(events: Iterable<HistoryEvent>): Generator<StepEvent> {
  for (const ev of events) {
    const type = String(ev.type ?? '');
    const at = ev.timestamp ? new Date(ev.timestamp).toISOString() : '';
    const state = /^(\w+?)State(Entered|Exited)$/.exec(type);
    if (state && STATE_TYPES.has(state[1])) {
      const name =
        state[2] === 'Entered' ? ev.stateEnteredEventDetails?.name : ev.stateExitedEventDetails?.name;
      if (name === undefined) continue;
      yield {
        kind: state[2] === 'Entered' ? 'entered' : 'exited',
        state: name,
        type: state[1] as StateType,
        at,
      };
    } else if (SCHEDULED.has(type)) yield { kind: 'scheduled' };
    else if (TASK_FAILED.has(type)) yield { kind: 'attempt-failed', scope: 'task', ...errorOf(ev) };
    else if (CONTAINER_FAILED.has(type)) yield { kind: 'attempt-failed', scope: 'container', ...errorOf(ev) };
  }
}

const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
};

/** `SendTaskSuccess` / `SendTaskFailure` with a stored task token. */
export class SfnTaskAnswer implements TaskAnswer {
  constructor(private readonly client: SfnSend) {}

  async success(taskToken: string, output: unknown): Promise<void> {
    const { SendTaskSuccessCommand } = await sdk();
    await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }

  async failure(taskToken: string, error: string, cause: string): Promise<void> {
    const { SendTaskFailureCommand } = await sdk();
    // Step Functions caps the cause at 32768 characters.
    await this.client.send(new SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 32_000) }));
  }
}
