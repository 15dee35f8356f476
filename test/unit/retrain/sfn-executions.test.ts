import { describe, expect, it } from 'vitest';
import { SfnExecutions, type SfnSend, SfnTaskAnswer } from '#adapters/sfn-executions.ts';

/**
 * The Step Functions adapter against recorded answers of the service's API shapes (what
 * DescribeExecution / GetExecutionHistory return): the input parsed, the step taken from the
 * newest StateEntered event, a missing execution answered as undefined, other errors thrown.
 */
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:vigil-dev-retraining';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:vigil-dev-retraining:abc';

function fakeSfn(answers: Record<string, (input: Record<string, unknown>) => unknown>) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name;
      calls.push({ name, input: command.input });
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(command.input);
    },
  } as unknown as SfnSend;
  return { client, calls };
}

describe('SfnExecutions', () => {
  it('describes an execution with its parsed input and the state it is in', async () => {
    const { client, calls } = fakeSfn({
      DescribeExecutionCommand: () => ({
        executionArn: EXEC,
        name: 'abc',
        status: 'RUNNING',
        startDate: new Date('2026-01-02T03:04:05Z'),
        input: '{"model":"default","trigger":"drift"}',
      }),
      GetExecutionHistoryCommand: () => ({
        events: [
          { type: 'TaskScheduled' },
          { type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'TrainInLambda' } },
          { type: 'ChoiceStateEntered', stateEnteredEventDetails: { name: 'TrainWhere?' } },
        ],
      }),
    });
    const d = await new SfnExecutions({ client, stateMachineArn: MACHINE }).describe(EXEC);
    expect(d).toEqual({
      executionArn: EXEC,
      name: 'abc',
      status: 'RUNNING',
      startDate: '2026-01-02T03:04:05.000Z',
      input: { model: 'default', trigger: 'drift' },
      step: 'TrainInLambda',
    });
    expect(calls[1].input).toMatchObject({ executionArn: EXEC, reverseOrder: true });
  });

  it('answers undefined for an execution that does not exist, and throws other errors', async () => {
    const missing = Object.assign(new Error('nope'), { name: 'ExecutionDoesNotExist' });
    const gone = fakeSfn({
      DescribeExecutionCommand: () => {
        throw missing;
      },
    });
    expect(await new SfnExecutions({ client: gone.client, stateMachineArn: MACHINE }).describe(EXEC)).toBe(
      undefined,
    );
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    const busy = fakeSfn({
      DescribeExecutionCommand: () => {
        throw throttled;
      },
    });
    await expect(
      new SfnExecutions({ client: busy.client, stateMachineArn: MACHINE }).describe(EXEC),
    ).rejects.toBe(throttled);
  });

  it('starts an execution with the input as JSON and no name (the service generates a unique one)', async () => {
    const { client, calls } = fakeSfn({
      StartExecutionCommand: () => ({ executionArn: EXEC, startDate: new Date('2026-01-02T03:04:05Z') }),
    });
    const r = await new SfnExecutions({ client, stateMachineArn: MACHINE }).start({ model: 'default' });
    expect(r).toEqual({ executionArn: EXEC, startDate: '2026-01-02T03:04:05.000Z' });
    expect(calls[0].input).toEqual({ stateMachineArn: MACHINE, input: '{"model":"default"}' });
  });

  it('sends task answers with the output as JSON and the cause within the service limit', async () => {
    const { client, calls } = fakeSfn({
      SendTaskSuccessCommand: () => ({}),
      SendTaskFailureCommand: () => ({}),
    });
    const answer = new SfnTaskAnswer(client);
    await answer.success('tok', { approved: true });
    await answer.failure('tok', 'Rejected', 'x'.repeat(40_000));
    expect(calls[0].input).toEqual({ taskToken: 'tok', output: '{"approved":true}' });
    expect(calls[1].input).toMatchObject({ taskToken: 'tok', error: 'Rejected' });
    expect(String(calls[1].input.cause).length).toBe(32_000);
  });
});
