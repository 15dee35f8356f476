import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ReleaseExecutionInput, ReleaseExecutions } from '#core/release/starter.ts';

/** Starts the release state machine with Step Functions `StartExecution`. */
export class SfnReleaseExecutions implements ReleaseExecutions {
  readonly #client: Pick<SFNClient, 'send'>;
  readonly #arn: string;
  constructor(opts: { readonly client: Pick<SFNClient, 'send'>; readonly stateMachineArn: string }) {
    this.#client = opts.client;
    this.#arn = opts.stateMachineArn;
  }
  async start(input: ReleaseExecutionInput): Promise<{ executionArn: string }> {
    // The name makes a retried start of the same release idempotent (Step Functions refuses a
    // second execution of one name with other input, and returns the first for the same input).
    const name = `${input.model.slice(0, 40)}-${input.releaseId ?? `v${input.version}-${Date.now()}`}`.slice(
      0,
      80,
    );
    const out = await this.#client.send(
      new StartExecutionCommand({ stateMachineArn: this.#arn, name, input: JSON.stringify(input) }),
    );
    if (!out.executionArn) throw new Error('StartExecution returned no executionArn');
    return { executionArn: out.executionArn };
  }
}
