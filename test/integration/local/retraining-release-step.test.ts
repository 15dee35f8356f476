import { beforeAll, describe, expect, it } from 'vitest';
import type { StateMachineKey } from '#contracts';
import { StateMachineRunner } from '../../../local/state-machine-runner.ts';
import type { AslDefinition, SynthesizedMachine } from '../../../local/state-machines.ts';
import { synthesizeStateMachines } from '../../../local/synthesize-app.ts';

// biome-ignore lint/suspicious/noExplicitAny: step events are checked field by field.
type Json = any;

/**
 * The synthesized retraining machine's Release step (`startExecution.sync:2`) on the twin's
 * runner, with the release machine's outcome chosen by the test: what is under test is how the
 * definition maps the child's end to the pipeline's outcome. The step handlers are stand-ins
 * that return what the real steps return in shape (the real ones run in test/e2e/retraining).
 */
describe('the retraining machine’s Release step', () => {
  let machines: Partial<Record<StateMachineKey, SynthesizedMachine>>;
  beforeAll(() => {
    machines = synthesizeStateMachines('dev');
  }, 300_000);

  const run = async (release: AslDefinition) => {
    const notified: Json[] = [];
    const retraining = machines.retraining as SynthesizedMachine;
    const runner = new StateMachineRunner({
      machines: { retraining, release: { ...(machines.release as SynthesizedMachine), definition: release } },
      handlers: {
        retrainAcquireLock: async () => ({ acquired: true }),
        retrainPrepareData: async () => ({ rows: 1000, datasetUri: 'file:///d.csv' }),
        retrainValidateData: async () => ({ ok: true, failures: [], messages: [] }),
        retrainTrain: async () => ({ candidateUri: 'file:///c' }),
        retrainEvaluate: async () => ({ metrics: {} }),
        retrainGate: async () => ({ passed: true, checks: [], reasons: [] }),
        retrainRegister: async () => ({ version: 2, approval: 'Approved' }),
        retrainNotify: async (e: Json) => {
          notified.push(e.state);
          return { outcome: e.state.outcome, notified: true };
        },
      },
    });
    const execution = await runner.start('retraining', { model: 'default', trigger: 'manual' }).done;
    return { execution, notified, children: runner.list('release') };
  };
  const fail = (error: string): AslDefinition => ({
    StartAt: 'End',
    States: { End: { Type: 'Fail', Error: error, Cause: 'A signal breached; see the release record' } },
  });

  it('a promoted release ends the run Succeeded, the child’s status and ARN in the state', async () => {
    const { execution, notified, children } = await run({
      StartAt: 'Promoted',
      States: { Promoted: { Type: 'Succeed' } },
    });
    expect(execution).toMatchObject({ status: 'SUCCEEDED', state: 'Succeeded' });
    expect(children).toHaveLength(1);
    expect(children[0].input).toMatchObject({ model: 'default', version: 2 });
    expect(notified).toHaveLength(1);
    expect(notified[0].outcome).toBe('succeeded');
    expect(notified[0].release).toEqual({ status: 'SUCCEEDED', executionArn: children[0].executionArn });
  }, 120_000);

  it('a rolled-back release (the child failed ReleaseRolledBack) ends the run ReleaseRolledBack', async () => {
    const { execution, notified } = await run(fail('ReleaseRolledBack'));
    expect(execution).toMatchObject({ status: 'FAILED', error: { error: 'ReleaseRolledBack' } });
    expect(notified.map((s) => s.outcome)).toEqual(['release-rolled-back']);
    expect(notified[0].error.Error).toBe('States.TaskFailed');
  }, 120_000);

  it('a release that failed otherwise ends the run RetrainingErrored', async () => {
    const { execution, notified } = await run(fail('ReleaseFailed'));
    expect(execution).toMatchObject({ status: 'FAILED', error: { error: 'RetrainingErrored' } });
    expect(notified.map((s) => s.outcome)).toEqual(['errored']);
  }, 120_000);
});
