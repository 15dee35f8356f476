import { type SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type {
  ReleaseExecutionInput,
  ReleaseExecutionStopper,
  ReleaseExecutions,
} from '#core/release/starter.ts';

/** Starts and stops executions of the release state machine (Step Functions `StartExecution`, `StopExecution`). */
export class SfnReleaseExecutions implements ReleaseExecutions, ReleaseExecutionStopper {
  readonly #client: Pick<SFNClient, 'send'>;
  readonly #arn: string | undefined;
  constructor(opts: { readonly client: Pick<SFNClient, 'send'>; readonly stateMachineArn?: string }) {
    this.#client = opts.client;
    this.#arn = opts.stateMachineArn;
  }
  async start(input: ReleaseExecutionInput): Promise<{ executionArn: string }> {
    if (!this.#arn) throw new Error('SfnReleaseExecutions: stateMachineArn is required to start executions');
    // The name makes a retried start of the same release idempotent (Step Functions refuses a
    // second execution of one name with other input, and returns the first for the same input).
    // An abort is an execution of its own beside the release's, so its name must differ.
    const base = `${input.model.slice(0, 40)}-${input.releaseId ?? `v${input.version}-${Date.now()}`}`;
    const name = input.abort ? `${base.slice(0, 60)}-abort-${Date.now()}` : base.slice(0, 80);
    const out = await this.#client.send(
      new StartExecutionCommand({ stateMachineArn: this.#arn, name, input: JSON.stringify(input) }),
    );
    if (!out.executionArn) throw new Error('StartExecution returned no executionArn');
    return { executionArn: out.executionArn };
  }

  async stop(executionArn: string, cause: string): Promise<void> {
    try {
      await this.#client.send(
        new StopExecutionCommand({ executionArn, error: 'ReleaseAborted', cause: cause.slice(0, 32_000) }),
      );
    } catch (e) {
      // Nothing to stop: the execution is gone (its history expired) — what an abort wants anyway.
      if ((e as { name?: string }).name !== 'ExecutionDoesNotExist') throw e;
    }
  }
}
