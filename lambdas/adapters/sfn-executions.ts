import type { DescribeExecutionCommandOutput, SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionInfo, RetrainingExecutions, TaskAnswer } from '#core/retrain/ports.ts';

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

  async describe(executionArn: string): Promise<ExecutionInfo | undefined> {
    const { DescribeExecutionCommand, GetExecutionHistoryCommand } = await sdk();
    let d: DescribeExecutionCommandOutput;
    try {
      d = await this.#client.send(new DescribeExecutionCommand({ executionArn }));
    } catch (e) {
      if ((e as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw e;
    }
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
