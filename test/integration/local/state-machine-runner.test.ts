import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { executionSteps } from '#core/retrain/steps.ts';
import { localStepEvents, StateMachineRunner } from '../../../local/state-machine-runner.ts';
import {
  localFunctionArn,
  localStateMachineArn,
  machinesFromTemplates,
  type SynthesizedMachine,
} from '../../../local/state-machines.ts';

// biome-ignore lint/suspicious/noExplicitAny: outputs are checked field by field.
type Json = any;

/**
 * Two machines of one synthesized template, run by the twin's runner: a parent that starts the
 * child with `.sync` and `.sync:2`, then waits for a task token. The task handlers are the
 * test's own (keyed by `HANDLERS` names the specs map services to): what is under test is the
 * runner's resolution and Step Functions' integration semantics, not the handlers.
 */
const SPECS = {
  child: { id: 'Child', tasks: { Work: { handler: 'retrainGate', service: 'test-child-work' } } },
  parent: { id: 'Parent', tasks: { Ask: { handler: 'retrainRequestApproval', service: 'test-parent-ask' } } },
} as const;
type Key = keyof typeof SPECS;

function synthesize(): Record<string, Json> {
  const app = new App();
  const stack = new Stack(app, 'RunnerTest');
  const fn = (id: string, service: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      environment: { POWERTOOLS_SERVICE_NAME: service },
    });
  const work = new tasks.LambdaInvoke(stack, 'Work', {
    lambdaFunction: fn('WorkFn', SPECS.child.tasks.Work.service),
    payloadResponseOnly: true,
    resultPath: '$.work',
  });
  const child = new sfn.StateMachine(stack, SPECS.child.id, {
    definitionBody: sfn.DefinitionBody.fromChainable(
      work.next(
        new sfn.Choice(stack, 'Ok?')
          .when(
            sfn.Condition.booleanEquals('$.work.ok', true),
            new sfn.Succeed(stack, 'Done', { outputPath: '$.work' }),
          )
          .otherwise(new sfn.Fail(stack, 'Broke', { error: 'ChildBroke', cause: 'value was negative' })),
      ),
    ),
  });
  // CDK renders only `.sync:2` (RUN_JOB); `.sync` (strings) is the same call written out.
  const runSync = new sfn.CustomState(stack, 'RunSync', {
    stateJson: {
      Type: 'Task',
      Resource: 'arn:aws:states:::states:startExecution.sync',
      Parameters: { StateMachineArn: child.stateMachineArn, Input: { 'value.$': '$.value' } },
      ResultPath: '$.sync',
    },
  });
  runSync.addCatch(new sfn.Pass(stack, 'ChildFailed'), {
    errors: ['States.TaskFailed'],
    resultPath: '$.error',
  });
  const runSync2 = new tasks.StepFunctionsStartExecution(stack, 'RunSync2', {
    stateMachine: child,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    input: sfn.TaskInput.fromObject({ value: sfn.JsonPath.numberAt('$.value') }),
    resultPath: '$.sync2',
  });
  const ask = new tasks.LambdaInvoke(stack, 'Ask', {
    lambdaFunction: fn('AskFn', SPECS.parent.tasks.Ask.service),
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      token: sfn.JsonPath.taskToken,
      value: sfn.JsonPath.numberAt('$.value'),
    }),
    resultPath: '$.answer',
  });
  ask.addCatch(new sfn.Pass(stack, 'Refused'), { errors: ['Rejected'], resultPath: '$.error' });
  new sfn.StateMachine(stack, SPECS.parent.id, {
    definitionBody: sfn.DefinitionBody.fromChainable(runSync.next(runSync2).next(ask)),
  });
  return { RunnerTest: Template.fromStack(stack).toJSON() };
}

describe('the local state-machine runner', () => {
  let machines: Partial<Record<Key, SynthesizedMachine<Key>>>;
  const asked: Json[] = [];
  const runner = () =>
    new StateMachineRunner<Key>({
      machines,
      handlers: {
        retrainGate: async (e: Json) => ({ ok: e.value >= 0, doubled: e.value * 2 }),
        retrainRequestApproval: async (e: Json) => {
          asked.push(e);
          return {};
        },
      },
    });
  beforeAll(() => {
    machines = machinesFromTemplates<Key>(synthesize(), SPECS);
  }, 120_000);

  it('reads two machines from one template, a Ref to the child resolved to its local ARN', () => {
    expect(Object.keys(machines).sort()).toEqual(['child', 'parent']);
    const parent = machines.parent as SynthesizedMachine<Key>;
    expect(parent.arn).toBe(localStateMachineArn('parent'));
    expect(parent.definition.States.RunSync.Parameters?.StateMachineArn).toBe(localStateMachineArn('child'));
    expect(parent.definition.States.RunSync2.Parameters?.StateMachineArn).toBe(localStateMachineArn('child'));
    const [[arn, handler]] = [...(machines.child?.functions ?? [])];
    expect(arn).toMatch(new RegExp(`^${localFunctionArn('WorkFn')}`));
    expect(handler).toBe('retrainGate');
  });

  it('runs a .sync child (output as a JSON string), a .sync:2 child (parsed) and answers a task token', async () => {
    const r = runner();
    asked.length = 0;
    const { executionArn, done } = r.start('parent', { value: 3 });
    await vi.waitFor(() => expect(r.waitingTokens).toHaveLength(1), { timeout: 55_000 });
    expect(r.describe(executionArn)).toMatchObject({ status: 'RUNNING', state: 'Ask' });
    expect(asked).toEqual([{ token: r.waitingTokens[0], value: 3 }]);
    r.sendTaskSuccess(asked[0].token, { approved: true });
    const e = await done;
    expect(e.error).toBeUndefined();
    expect(e.status).toBe('SUCCEEDED');
    const out = e.output as Json;
    expect(out.sync.Status).toBe('SUCCEEDED');
    expect(typeof out.sync.Output).toBe('string');
    expect(JSON.parse(out.sync.Output)).toEqual({ ok: true, doubled: 6 });
    expect(JSON.parse(out.sync.Input)).toEqual({ value: 3 });
    expect(out.sync2.Output).toEqual({ ok: true, doubled: 6 });
    expect(out.sync2.Input).toMatchObject({ value: 3 });
    expect(out.answer).toEqual({ approved: true });
    const children = r.list('child');
    expect(children).toHaveLength(2);
    expect(children.every((c) => c.parentArn === executionArn && c.status === 'SUCCEEDED')).toBe(true);
    expect(out.sync2.ExecutionArn).toBe(children[0].executionArn);
    expect(e.history.filter((h) => h.type === 'StateEntered').map((h) => h.state)).toEqual([
      'RunSync',
      'RunSync2',
      'Ask',
    ]);
  }, 120_000);

  it('fails the task with States.TaskFailed and the child’s error in the cause when the child fails', async () => {
    const r = runner();
    const e = await r.start('parent', { value: -1 }).done;
    expect(e.status).toBe('SUCCEEDED');
    expect(e.state).toBe('ChildFailed');
    const error = (e.output as Json).error;
    expect(error.Error).toBe('States.TaskFailed');
    const cause = JSON.parse(error.Cause);
    expect(cause).toMatchObject({ Status: 'FAILED', Error: 'ChildBroke', Cause: 'value was negative' });
    expect(r.list('child')[0]).toMatchObject({ status: 'FAILED', error: { error: 'ChildBroke' } });
  }, 120_000);

  it('folds its history into steps: a caught task names where it went, an uncaught one fails with its error', async () => {
    const r = runner();
    const e = await r.start('parent', { value: -1 }).done;
    const steps = executionSteps(localStepEvents(e.history), { status: e.status });
    // RunSync's child failed and its Catch went to ChildFailed, where the run ends (no Next).
    expect(steps.map((s) => [s.name, s.type, s.outcome, s.next])).toEqual([
      ['RunSync', 'Task', 'caught', 'ChildFailed'],
      ['ChildFailed', 'Pass', 'succeeded', undefined],
    ]);
    expect(steps[0].error).toBe('States.TaskFailed');
    expect(JSON.parse(steps[0].cause ?? '')).toMatchObject({ Error: 'ChildBroke' });
    const child = r.list('child')[0];
    const childSteps = executionSteps(localStepEvents(child.history), {
      status: child.status,
      ...(child.error ? { error: child.error.error, cause: child.error.cause } : {}),
    });
    expect(childSteps.map((s) => [s.name, s.type, s.outcome])).toEqual([
      ['Work', 'Task', 'succeeded'],
      ['Ok?', 'Choice', 'succeeded'],
      ['Broke', 'Fail', 'failed'],
    ]);
    expect(childSteps[2]).toMatchObject({ error: 'ChildBroke', cause: 'value was negative' });
    expect(childSteps[2].exitedAt).toBeUndefined();
  }, 120_000);

  it('fails a waiting task with SendTaskFailure’s error, which the definition catches', async () => {
    const r = runner();
    asked.length = 0;
    const { done } = r.start('parent', { value: 1 });
    await vi.waitFor(() => expect(asked).toHaveLength(1), { timeout: 55_000 });
    r.sendTaskFailure(asked[0].token, 'Rejected', 'not today');
    const e = await done;
    expect(e.state).toBe('Refused');
    expect((e.output as Json).error).toEqual({ Error: 'Rejected', Cause: 'not today' });
    expect(() => r.sendTaskSuccess(asked[0].token, {})).toThrow(/No task waits/);
  }, 120_000);

  it('runs a definition that is no top-level machine, and refuses a reused execution name', async () => {
    const r = runner();
    const def = (machines.child as SynthesizedMachine<Key>).definition;
    expect(await r.runDefinition(def, { value: 5 })).toEqual({ ok: true, doubled: 10 });
    await expect(r.runDefinition(def, { value: -5 })).rejects.toMatchObject({ name: 'ChildBroke' });
    await r.start('child', { value: 1 }, { name: 'once' }).done;
    expect(() => r.start('child', { value: 1 }, { name: 'once' })).toThrow(/already exists/);
  }, 120_000);
});
