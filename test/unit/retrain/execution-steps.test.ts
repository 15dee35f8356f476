import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SfnExecutions, type SfnSend } from '#adapters/sfn-executions.ts';
import { executionSteps, MAX_HISTORY_EVENTS } from '#core/retrain/steps.ts';

/**
 * The steps of an execution from its history: GetExecutionHistory's documented event shapes
 * (test/fixtures/sfn/retraining-history.json, written by hand from the API reference it cites)
 * through the Step Functions adapter, and the fold itself on the cases that fixture lacks.
 */
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:vigil-dev-retraining';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:vigil-dev-retraining:abc';

const fixture = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, '../../fixtures/sfn/retraining-history.json'), 'utf8'),
) as { events: Array<Record<string, unknown> & { timestamp: string }> };
const EVENTS = fixture.events.map((e) => ({ ...e, timestamp: new Date(e.timestamp) }));

function fakeSfn(pages: unknown[][], describe: Record<string, unknown> | Error) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name;
      calls.push({ name, input: command.input });
      if (name === 'DescribeExecutionCommand') {
        if (describe instanceof Error) throw describe;
        return describe;
      }
      if (name !== 'GetExecutionHistoryCommand') throw new Error(`unexpected ${name}`);
      const i = command.input.nextToken === undefined ? 0 : Number(command.input.nextToken);
      return { events: pages[i], ...(i + 1 < pages.length ? { nextToken: String(i + 1) } : {}) };
    },
  } as unknown as SfnSend;
  return { client, calls };
}

const FAILED = {
  executionArn: EXEC,
  name: 'abc',
  status: 'FAILED',
  startDate: new Date('2026-01-02T03:00:00Z'),
  stopDate: new Date('2026-01-02T03:00:34.500Z'),
  error: 'RetrainingErrored',
  cause: 'Register failed',
};

describe('SfnExecutions.history', () => {
  it('maps a recorded history to its top-level steps in order, across pages', async () => {
    const { client, calls } = fakeSfn([EVENTS.slice(0, 20), EVENTS.slice(20)], FAILED);
    const h = await new SfnExecutions({ client, stateMachineArn: MACHINE }).history(EXEC);
    expect(h?.truncated).toBe(false);
    expect(h?.steps).toEqual([
      {
        name: 'PrepareData',
        type: 'Task',
        enteredAt: '2026-01-02T03:00:01.000Z',
        exitedAt: '2026-01-02T03:00:04.100Z',
        outcome: 'succeeded',
        next: 'TrainWhere?',
        retries: 0,
      },
      {
        name: 'TrainWhere?',
        type: 'Choice',
        enteredAt: '2026-01-02T03:00:04.200Z',
        exitedAt: '2026-01-02T03:00:04.300Z',
        outcome: 'succeeded',
        next: 'TrainInLambda',
        retries: 0,
      },
      // Failed once (TaskFailed), scheduled again and succeeded: one retry, no error left.
      {
        name: 'TrainInLambda',
        type: 'Task',
        enteredAt: '2026-01-02T03:00:04.400Z',
        exitedAt: '2026-01-02T03:00:30.100Z',
        outcome: 'succeeded',
        next: 'EvaluateEach',
        retries: 1,
      },
      // The failure inside an iteration is the inner state's, not the Map's.
      {
        name: 'EvaluateEach',
        type: 'Map',
        enteredAt: '2026-01-02T03:00:30.200Z',
        exitedAt: '2026-01-02T03:00:33.400Z',
        outcome: 'succeeded',
        next: 'Register',
        retries: 0,
      },
      // Failed and exited: a Catch took it to OutcomeErrored.
      {
        name: 'Register',
        type: 'Task',
        enteredAt: '2026-01-02T03:00:33.500Z',
        exitedAt: '2026-01-02T03:00:34.100Z',
        outcome: 'caught',
        error: 'Conflict',
        cause: '{"errorType":"Conflict","errorMessage":"version exists"}',
        next: 'OutcomeErrored',
        retries: 0,
      },
      {
        name: 'OutcomeErrored',
        type: 'Pass',
        enteredAt: '2026-01-02T03:00:34.200Z',
        exitedAt: '2026-01-02T03:00:34.300Z',
        outcome: 'succeeded',
        next: 'RetrainingErrored',
        retries: 0,
      },
      // A Fail state never exits: it failed with the execution's error.
      {
        name: 'RetrainingErrored',
        type: 'Fail',
        enteredAt: '2026-01-02T03:00:34.400Z',
        outcome: 'failed',
        error: 'RetrainingErrored',
        cause: 'Register failed',
        retries: 0,
      },
    ]);
    const pages = calls.filter((c) => c.name === 'GetExecutionHistoryCommand');
    expect(pages).toHaveLength(2);
    expect(pages[0].input).toMatchObject({ executionArn: EXEC, includeExecutionData: false });
    expect(pages[0].input.reverseOrder).toBeUndefined();
    expect(pages[1].input.nextToken).toBe('1');
  });

  it(`reads at most ${MAX_HISTORY_EVENTS} events and says the history was cut`, async () => {
    const filler = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: i,
        type: 'TaskScheduled',
        timestamp: new Date('2026-01-02T03:00:00Z'),
      }));
    const { client, calls } = fakeSfn([[...EVENTS.slice(0, 3), ...filler(497)], filler(500), filler(500)], {
      ...FAILED,
      status: 'RUNNING',
      error: undefined,
      cause: undefined,
    });
    const h = await new SfnExecutions({ client, stateMachineArn: MACHINE }).history(EXEC);
    expect(h?.truncated).toBe(true);
    expect(calls.filter((c) => c.name === 'GetExecutionHistoryCommand')).toHaveLength(2);
    expect(h?.steps.map((s) => [s.name, s.outcome])).toEqual([['PrepareData', 'running']]);
  });

  it('answers undefined for an execution that does not exist', async () => {
    const missing = Object.assign(new Error('nope'), { name: 'ExecutionDoesNotExist' });
    const { client } = fakeSfn([], missing);
    expect(await new SfnExecutions({ client, stateMachineArn: MACHINE }).history(EXEC)).toBeUndefined();
  });

  it('names an execution of its machine by ARN', () => {
    const { client } = fakeSfn([], FAILED);
    expect(new SfnExecutions({ client, stateMachineArn: MACHINE }).arnOf('abc')).toBe(EXEC);
  });
});

describe('executionSteps', () => {
  const at = (s: number) => `2026-01-02T03:00:${String(s).padStart(2, '0')}.000Z`;

  it('leaves the step it is in running, and one it was stopped in aborted', () => {
    const events = [
      { kind: 'entered', state: 'AcquireLock', type: 'Task', at: at(1) },
      { kind: 'exited', state: 'AcquireLock', type: 'Task', at: at(2) },
      { kind: 'entered', state: 'WaitForApproval', type: 'Task', at: at(3) },
    ] as const;
    expect(executionSteps(events, { status: 'RUNNING' }).map((s) => s.outcome)).toEqual([
      'succeeded',
      'running',
    ]);
    expect(executionSteps(events, { status: 'ABORTED' }).map((s) => s.outcome)).toEqual([
      'succeeded',
      'aborted',
    ]);
  });

  it("keeps a failed attempt's own error over the execution's when it was not caught", () => {
    const steps = executionSteps(
      [
        { kind: 'entered', state: 'Train', type: 'Task', at: at(1) },
        { kind: 'attempt-failed', scope: 'task', state: 'Train', error: 'OOM', cause: 'heap' },
        { kind: 'retried', state: 'Train' },
        { kind: 'attempt-failed', scope: 'task', state: 'Train', error: 'OOM', cause: 'heap again' },
      ],
      { status: 'FAILED', error: 'States.TaskFailed', cause: 'wrapped' },
    );
    expect(steps).toEqual([
      {
        name: 'Train',
        type: 'Task',
        enteredAt: at(1),
        outcome: 'failed',
        error: 'OOM',
        cause: 'heap again',
        retries: 1,
      },
    ]);
  });

  it("counts a Map's own failure against it, not its iterations' states", () => {
    const steps = executionSteps(
      [
        { kind: 'entered', state: 'Each', type: 'Map', at: at(1) },
        { kind: 'entered', state: 'Inner', type: 'Task', at: at(2) },
        { kind: 'attempt-failed', scope: 'task', state: 'Inner', error: 'Boom', cause: 'inner' },
        {
          kind: 'attempt-failed',
          scope: 'container',
          state: 'Each',
          error: 'States.BranchFailed',
          cause: 'x',
        },
        { kind: 'exited', state: 'Each', type: 'Map', at: at(3) },
        { kind: 'entered', state: 'Handle', type: 'Pass', at: at(4) },
        { kind: 'exited', state: 'Handle', type: 'Pass', at: at(5) },
      ],
      { status: 'SUCCEEDED' },
    );
    expect(steps.map((s) => [s.name, s.outcome, s.error, s.next])).toEqual([
      ['Each', 'caught', 'States.BranchFailed', 'Handle'],
      ['Handle', 'succeeded', undefined, undefined],
    ]);
  });
});
