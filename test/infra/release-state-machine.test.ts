import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, RELEASE_TASKS, STATE_MACHINES } from '#contracts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import { ENV_NAMES } from '../../lib/config.ts';
import { RELEASE_RETRY_ERRORS } from '../../lib/constructs/release-state-machine.ts';
import { type CfnProps, joinedText, resourcesOf, type SynthesizedEnv, synthEnv } from './harness.ts';

type Asl = { StartAt: string; States: Record<string, CfnProps> };

let dev: SynthesizedEnv;
let prod: SynthesizedEnv;
beforeAll(() => {
  dev = synthEnv('dev');
  prod = synthEnv('prod');
}, 180_000);

/** A state machine's definition out of the Pipeline template, by `STATE_MACHINES` construct id. */
const definitionOf = (env: SynthesizedEnv, id: string): Asl => {
  const [[, props]] = resourcesOf(env.templates.pipeline, 'AWS::StepFunctions::StateMachine').filter(
    ([logical]) => logical.includes(id),
  );
  return JSON.parse(joinedText(props.DefinitionString)) as Asl;
};

/** The task function with a release task's service name. */
const taskFunction = (env: SynthesizedEnv, task: keyof typeof RELEASE_TASKS): [string, CfnProps] => {
  const [fn] = resourcesOf(env.templates.pipeline, 'AWS::Lambda::Function').filter(
    ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === RELEASE_TASKS[task].service,
  );
  if (!fn) throw new Error(`no function for ${task}`);
  return fn;
};

/** Inline policy statements of a task's role. */
const statementsOf = (env: SynthesizedEnv, task: keyof typeof RELEASE_TASKS): CfnProps[] => {
  const [, fn] = taskFunction(env, task);
  const roleId = fn.Role['Fn::GetAtt'][0];
  return resourcesOf(env.templates.pipeline, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Roles.some((r: CfnProps) => r.Ref === roleId))
    .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
};

/** An ARN with the Api stack's outputs spelled `<Api:OutputName>`. */
const scoreArnText = (r: unknown): string => {
  const part = (p: unknown): string => {
    if (typeof p === 'string') return p;
    const out = (p as CfnProps)['Fn::GetStackOutput'];
    if (out && String(out.StackName).endsWith('-Api')) return `<Api:${out.OutputName}>`;
    return 'TOKEN';
  };
  const join = (r as CfnProps)?.['Fn::Join'];
  return join ? (join[1] as unknown[]).map(part).join(join[0]) : part(r);
};

describe('release state machine', () => {
  it('has one task per RELEASE_TASKS entry, each retried on transient errors and caught into Rollback', () => {
    const asl = definitionOf(dev, STATE_MACHINES.release.id);
    const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');
    // `Abort` is a second state of the Rollback function (an abort's own execution).
    expect(tasks.map(([n]) => n).sort()).toEqual([...Object.keys(RELEASE_TASKS), 'Abort'].sort());
    for (const [name, s] of tasks) {
      expect(s.Retry?.[0]?.ErrorEquals, name).toEqual([...RELEASE_RETRY_ERRORS]);
      expect(s.Catch?.at(-1)?.ErrorEquals, name).toEqual(['States.ALL']);
      expect(s.Catch?.at(-1)?.ResultPath, name).toBe('$.error');
      expect(s.Catch?.at(-1)?.Next, name).toBe(
        name === 'Rollback' ? 'RollbackFailed' : name === 'Abort' ? 'AbortFailed' : 'Rollback',
      );
    }
    expect(asl.StartAt).toBe('Abort?');
  });

  it('runs an abort execution straight to the Rollback function, and every other to Begin', () => {
    const asl = definitionOf(dev, STATE_MACHINES.release.id);
    expect(asl.States['Abort?']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.abort', IsPresent: true, Next: 'Abort' }],
      Default: 'Begin',
    });
    expect(asl.States.Abort?.Next).toBe('Aborted');
    expect(asl.States.Abort?.ResultPath).toBe('$.rollback');
    expect(JSON.stringify(asl.States.Abort?.Parameters ?? asl.States.Abort?.Resource)).toEqual(
      JSON.stringify(asl.States.Rollback?.Parameters ?? asl.States.Rollback?.Resource),
    );
  });

  it('lets Rollback stop executions of this machine only (an abort), and no other task', () => {
    const stops = statementsOf(dev, 'Rollback').filter((st) =>
      [st.Action].flat().includes('states:StopExecution'),
    );
    expect(stops).toHaveLength(1);
    expect(joinedText(stops[0]?.Resource)).toMatch(/:states:TOKEN:TOKEN:execution:vigil-dev-release:\*$/);
    for (const task of Object.keys(RELEASE_TASKS) as (keyof typeof RELEASE_TASKS)[]) {
      if (task === 'Rollback') continue;
      const actions = statementsOf(dev, task).flatMap((st) => [st.Action].flat());
      expect(actions, task).not.toContain('states:StopExecution');
    }
  });

  it('lets Begin list the score deployment group’s deployments (no release during a code deployment)', () => {
    const [, begin] = taskFunction(prod, 'Begin');
    expect(begin.Environment.Variables).toMatchObject({
      [ENV.SCORE_DEPLOYMENT_APPLICATION]: 'vigil-prod-score',
      [ENV.SCORE_DEPLOYMENT_GROUP]: 'vigil-prod-score-live',
    });
    const list = statementsOf(prod, 'Begin').filter((st) => st.Action === 'codedeploy:ListDeployments');
    expect(list).toHaveLength(1);
    expect(joinedText(list[0]?.Resource)).toMatch(
      /:deploymentgroup:vigil-prod-score\/vigil-prod-score-live$/,
    );
  });

  it('bakes in Wait states whose seconds come from the tasks (policy × timeScale), not the definition', () => {
    const asl = definitionOf(dev, STATE_MACHINES.release.id);
    const waits = Object.fromEntries(
      Object.entries(asl.States)
        .filter(([, s]) => s.Type === 'Wait')
        .map(([n, s]) => [n, s.SecondsPath]),
    );
    expect(waits).toEqual({
      ShadowBake: '$.begin.plan.shadowSeconds',
      Bake: '$.advance.bakeSeconds',
      Paused: '$.begin.plan.pauseSeconds',
      AliasCacheWait: '$.promote.waitSeconds',
    });
    // Judge decides; the Choice after it routes every decision.
    const choices = asl.States['Decision?']?.Choices.map((c: CfnProps) => [c.StringEquals, c.Next]);
    expect(choices).toEqual([
      ['rollback', 'Rollback'],
      ['pause', 'Paused'],
      ['promote', 'Promote'],
    ]);
    expect(asl.States['Decision?']?.Default).toBe('Advance');
    expect(asl.States.Rollback?.Next).toBe('RolledBackHow?');
  });

  it('writes the environment’s release policy into every task, valid for the tasks’ schema', () => {
    for (const env of [dev, prod]) {
      for (const task of Object.keys(RELEASE_TASKS) as (keyof typeof RELEASE_TASKS)[]) {
        const [, fn] = taskFunction(env, task);
        const raw = fn.Environment.Variables[ENV.RELEASE_CONFIG];
        expect(JSON.parse(raw), `${env.config.envName} ${task}`).toEqual(env.config.release);
      }
    }
    expect(parseReleaseSettings(prod.config.release).shadow.enabled).toBe(true);
    expect(parseReleaseSettings(dev.config.release).shadow.enabled).toBe(false);
  });

  it('parses every environment’s release settings', () => {
    for (const name of ENV_NAMES) {
      const env = name === 'dev' ? dev : name === 'prod' ? prod : undefined;
      if (env) expect(() => parseReleaseSettings(env.config.release)).not.toThrow();
    }
  });

  it('limits the tasks to this score function’s versions and its live alias', () => {
    const lambdaStatements = (Object.keys(RELEASE_TASKS) as (keyof typeof RELEASE_TASKS)[]).flatMap((t) =>
      statementsOf(dev, t).filter((s) => [s.Action].flat().some((a: string) => a.startsWith('lambda:'))),
    );
    expect(lambdaStatements.length).toBeGreaterThan(0);
    for (const s of lambdaStatements) {
      for (const r of [s.Resource].flat()) {
        // The score function (a weak reference to the Api stack's output), bare or `:live`:
        // never another function, never "*". (Deleting versions is the Api stack's policy.)
        expect(scoreArnText(r), JSON.stringify(s.Action)).toMatch(
          /^<Api:PublishOutputFnGetAttScoreFunction\w+>(:live)?$/,
        );
      }
    }
    const actions = (t: keyof typeof RELEASE_TASKS) => statementsOf(dev, t).flatMap((s) => [s.Action].flat());
    expect(actions('Promote').some((a) => a.startsWith('lambda:'))).toBe(false);
    expect(actions('Judge')).toContain('cloudwatch:GetMetricData');
    expect(actions('Begin')).toContain('lambda:PublishVersion');
    expect(actions('Rollback')).toContain('lambda:UpdateAlias');
  });

  it('is a step of the retraining machine between approval and Notify, its outcome the pipeline’s', () => {
    for (const env of [dev, prod]) {
      const asl = definitionOf(env, STATE_MACHINES.retraining.id);
      const release = asl.States.Release;
      expect(release?.Resource).toMatch(/states:startExecution\.sync:2$/);
      expect(release?.Next).toBe('Mark-succeeded');
      // A failed child fails the task with States.TaskFailed; its own error is read from the Cause.
      expect(release?.Catch?.map((c: CfnProps) => [c.ErrorEquals, c.Next])).toEqual([
        [['States.TaskFailed'], 'ReleaseRolledBack?'],
        [['States.ALL'], 'Mark-errored'],
      ]);
      expect(asl.States['ReleaseRolledBack?']).toMatchObject({
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.error.Cause',
            StringMatches: '*"Error":"ReleaseRolledBack"*',
            Next: 'Mark-release-rolled-back',
          },
        ],
        Default: 'Mark-errored',
      });
      const before = env.config.retraining.approvalRequired ? 'WaitForApproval' : 'Register';
      expect(asl.States[before]?.Next).toBe('Release');
    }
  });

  it('never pins MODEL_VERSION on a function in any synthesized template', () => {
    for (const env of [dev, prod]) {
      for (const t of Object.values(env.templates)) {
        for (const [id, p] of resourcesOf(t, 'AWS::Lambda::Function')) {
          expect(p.Environment?.Variables?.[ENV.MODEL_VERSION], id).toBeUndefined();
        }
      }
    }
  });

  it('is cdk-nag clean', () => {
    expect(dev.nagFindings).toEqual([]);
    expect(prod.nagFindings).toEqual([]);
  });
});
