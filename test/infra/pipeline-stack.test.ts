import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DRIFT_EVENT, ENV, RETRAINING_TASKS } from '#contracts';
import { parseRetrainSettings } from '#core/retrain/config.ts';
import { loadConfig } from '../../lib/config.ts';
import { TRAINING } from '../../lib/stacks/eks-stack.ts';
import { TRANSIENT_ERRORS } from '../../lib/stacks/pipeline-stack.ts';
import { type AslDefinition, machineFromTemplate } from '../../local/state-machines.ts';
import { type CfnProps, resourcesOf, type SynthesizedEnv, synthEnv } from './harness.ts';

let dev: SynthesizedEnv;
let prod: SynthesizedEnv;
let devAsl: AslDefinition;
let prodAsl: AslDefinition;
beforeAll(() => {
  dev = synthEnv('dev');
  prod = synthEnv('prod');
  devAsl = machineFromTemplate(dev.templates.pipeline.toJSON()).definition;
  prodAsl = machineFromTemplate(prod.templates.pipeline.toJSON()).definition;
}, 120_000);

const tasks = (asl: AslDefinition) => Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');

/** The policy statements of the function serving a task state, flattened. */
const statementsOf = (env: SynthesizedEnv, task: keyof typeof RETRAINING_TASKS) => {
  const template = env.templates.pipeline;
  const [[fnId]] = resourcesOf(template, 'AWS::Lambda::Function').filter(
    ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === RETRAINING_TASKS[task].service,
  );
  const fn = template.toJSON().Resources[fnId].Properties as CfnProps;
  const roleId = fn.Role['Fn::GetAtt'][0];
  const inline = resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Roles.some((r: CfnProps) => r.Ref === roleId))
    .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
  // Prefix policies live beside the bucket in the Data stack; the role attaches them by a
  // stack output (weak cross-stack reference): follow it to the policy document.
  const data = env.templates.data.toJSON();
  const role = template.toJSON().Resources[roleId].Properties as CfnProps;
  const attached = ((role.ManagedPolicyArns ?? []) as CfnProps[])
    .map((a) => a['Fn::GetStackOutput']?.OutputName as string | undefined)
    .filter((o): o is string => o !== undefined)
    .flatMap(
      (o) => data.Resources[data.Outputs[o].Value.Ref].Properties.PolicyDocument.Statement as CfnProps[],
    );
  return [...inline, ...attached];
};
const actionsOf = (env: SynthesizedEnv, task: keyof typeof RETRAINING_TASKS) =>
  statementsOf(env, task).flatMap((s) => [s.Action].flat() as string[]);

describe('retraining state machine definition', () => {
  it('retries transient errors and catches everything on every task', () => {
    for (const asl of [devAsl, prodAsl]) {
      expect(tasks(asl).length).toBeGreaterThanOrEqual(9);
      for (const [name, state] of tasks(asl)) {
        expect(state.Retry?.[0]?.ErrorEquals, name).toEqual([...TRANSIENT_ERRORS]);
        expect(state.Catch?.at(-1)?.ErrorEquals, name).toEqual(['States.ALL']);
        // Every catch records the error for the notification; all but Notify's own lead to Notify.
        expect(
          state.Catch?.every((c) => c.ResultPath === '$.error'),
          name,
        ).toBe(true);
      }
    }
  });

  it('routes every failure through Notify before the execution ends', () => {
    for (const [name, state] of tasks(devAsl).filter(([n]) => n !== 'Notify')) {
      const next = state.Catch?.at(-1)?.Next ?? '';
      expect(devAsl.States[next]?.Next, name).toBe('Notify');
    }
    expect(devAsl.States.Notify.Catch?.[0].Next).toBe('NotifyFailed');
  });

  it('chooses the EKS branch above the configured row count, and waits for the Job’s task token', () => {
    const choice = devAsl.States['TrainWhere?'] as unknown as { Choices: CfnProps[]; Default: string };
    expect(choice.Choices).toEqual([
      {
        Variable: '$.prepare.rows',
        NumericGreaterThan: dev.config.retraining.lambdaMaxRows,
        Next: 'TrainOnEks',
      },
    ]);
    expect(choice.Default).toBe('TrainInLambda');
    const eks = devAsl.States.TrainOnEks;
    expect(eks.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect((eks.Parameters?.Payload as CfnProps | undefined)?.['taskToken.$']).toBe('$$.Task.Token');
    expect(eks.Next).toBe('Evaluate');
  });

  it('passes the state and the execution, never data, and puts each result under its own key', () => {
    const results = Object.fromEntries(tasks(devAsl).map(([n, s]) => [n, s.ResultPath]));
    expect(results).toMatchObject({
      PrepareData: '$.prepare',
      ValidateData: '$.validation',
      TrainInLambda: '$.train',
      TrainOnEks: '$.train',
      Evaluate: '$.evaluate',
      Gate: '$.gate',
      Register: '$.register',
    });
    expect(devAsl.States.PrepareData.Parameters).toEqual({
      'state.$': '$',
      execution: { 'id.$': '$$.Execution.Id', 'name.$': '$$.Execution.Name' },
    });
  });

  it('waits for approval in prod only, and ends a rejection or timeout as Rejected', () => {
    expect(devAsl.States.WaitForApproval).toBeUndefined();
    // Then the release machine (issue 11): test/infra/release-state-machine.test.ts.
    expect(devAsl.States.Register.Next).toBe('Release');
    const approval = prodAsl.States.WaitForApproval;
    expect(prodAsl.States.Register.Next).toBe('WaitForApproval');
    expect(approval.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(approval.TimeoutSeconds).toBe(prod.config.retraining.approvalTimeoutHours * 3600);
    expect(approval.Catch?.[0]).toMatchObject({
      ErrorEquals: ['Rejected', 'States.Timeout'],
      Next: 'Mark-rejected',
    });
  });

  it('skips a run whose model is locked, and fails validation and gate failures with their own errors', () => {
    expect((devAsl.States['LockAcquired?'] as unknown as { Default: string }).Default).toBe('Skipped');
    expect(devAsl.States.DataValidationFailed).toMatchObject({ Type: 'Fail', Error: 'DataValidationFailed' });
    expect(devAsl.States.GateFailed).toMatchObject({ Type: 'Fail', Error: 'GateFailed' });
    expect(devAsl.States.Succeeded.Type).toBe('Succeed');
  });
});

describe('retraining infrastructure', () => {
  it('is a traced, logged standard state machine with the execution timeout of the lock lease', () => {
    dev.templates.pipeline.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
    expect(devAsl.TimeoutSeconds).toBe(dev.config.retraining.executionTimeoutHours * 3600);
    expect(devAsl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  it('starts an execution on vigil.drift.detected with the report’s model, id and window', () => {
    dev.templates.pipeline.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [DRIFT_EVENT.source], 'detail-type': [DRIFT_EVENT.detailType] },
      Targets: [
        Match.objectLike({
          InputTransformer: Match.objectLike({
            InputPathsMap: {
              'detail-model': '$.detail.model',
              'detail-reportId': '$.detail.reportId',
              'detail-window': '$.detail.window',
            },
          }),
        }),
      ],
    });
  });

  it('schedules retraining only for the models the environment lists', () => {
    const scheduled = (env: SynthesizedEnv) =>
      resourcesOf(env.templates.pipeline, 'AWS::Events::Rule').filter(([, p]) => p.ScheduleExpression);
    expect(scheduled(dev)).toHaveLength(0);
    expect(scheduled(prod).map(([, p]) => p.ScheduleExpression)).toEqual(['rate(7 days)']);
  });

  it('gives each step only the access it needs', () => {
    expect(actionsOf(dev, 'Gate')).not.toContain('s3:PutObject');
    expect(actionsOf(dev, 'Gate')).not.toContain('dynamodb:PutItem');
    expect(actionsOf(dev, 'Evaluate')).not.toContain('s3:PutObject');
    for (const t of Object.keys(RETRAINING_TASKS) as (keyof typeof RETRAINING_TASKS)[]) {
      const a = actionsOf(dev, t);
      expect(a.includes('dynamodb:DeleteItem'), t).toBe(t === 'Notify');
      expect(a.includes('sns:Publish'), t).toBe(['AcquireLock', 'Notify', 'WaitForApproval'].includes(t));
      expect(
        a.some((x) => x.endsWith('*')),
        `${t}: ${a}`,
      ).toBe(false);
    }
    const writes = (t: keyof typeof RETRAINING_TASKS) =>
      statementsOf(dev, t)
        .filter((s) => [s.Action].flat().includes('s3:PutObject'))
        .flatMap((s) => [s.Resource].flat())
        .map((r) => JSON.stringify(r));
    expect(writes('Register').join()).toContain('/models/*');
    expect(writes('TrainInLambda').join()).toContain('/retraining/*');
    expect(writes('TrainInLambda').join()).not.toContain('/models/');
  });

  it('reads the captures table from PrepareData only', () => {
    const captures = dev.stacks.data.capturesTable;
    const arn = dev.stacks.pipeline.resolve(captures.tableArn);
    for (const t of Object.keys(RETRAINING_TASKS) as (keyof typeof RETRAINING_TASKS)[]) {
      const reads = statementsOf(dev, t).some((s) => JSON.stringify(s.Resource) === JSON.stringify(arn));
      expect(reads, t).toBe(t === 'PrepareData');
    }
  });

  it('runs the Job submitter inside the cluster VPC with edit rights in the training namespace only', () => {
    const [[, fn]] = resourcesOf(dev.templates.pipeline, 'AWS::Lambda::Function').filter(
      ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === RETRAINING_TASKS.TrainOnEks.service,
    );
    expect(fn.VpcConfig?.SubnetIds).toBeDefined();
    expect(Object.keys(fn.Environment.Variables)).toEqual(
      expect.arrayContaining([ENV.EKS_CLUSTER_NAME, ENV.EKS_ENDPOINT, ENV.EKS_CA, ENV.TRAINING_JOB]),
    );
    dev.templates.pipeline.hasResourceProperties('AWS::EKS::AccessEntry', {
      AccessPolicies: [
        {
          PolicyArn: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':eks::aws:cluster-access-policy/AmazonEKSEditPolicy'],
            ],
          },
          AccessScope: { Type: 'namespace', Namespaces: [TRAINING.namespace] },
        },
      ],
    });
    dev.templates.pipeline.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      ToPort: 443,
    });
  });

  it('is cdk-nag clean in every environment', () => {
    expect(dev.nagFindings.filter((f) => f.includes('-Pipeline/'))).toEqual([]);
    expect(prod.nagFindings.filter((f) => f.includes('-Pipeline/'))).toEqual([]);
  });

  it('configures retraining settings the steps accept, approval in prod only', () => {
    for (const env of ['dev', 'staging', 'prod']) {
      const c = loadConfig(env).retraining;
      const s = parseRetrainSettings({
        ...c.settings,
        approvalRequired: c.approvalRequired,
        lambdaMaxRows: c.lambdaMaxRows,
      });
      expect(s.approvalRequired).toBe(env === 'prod');
    }
  });
});

describe('lock liveness', () => {
  it('lets AcquireLock describe executions of its own machine only, named per environment', () => {
    for (const [env, name] of [
      [dev, 'vigil-dev-retraining'],
      [prod, 'vigil-prod-retraining'],
    ] as const) {
      env.templates.pipeline.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: name,
      });
      const states = statementsOf(env, 'AcquireLock').filter((s) =>
        [s.Action].flat().some((a: string) => a.startsWith('states:')),
      );
      expect(states.flatMap((s) => [s.Action].flat()).sort()).toEqual([
        'states:DescribeExecution',
        'states:GetExecutionHistory',
      ]);
      expect(JSON.stringify(states.map((s) => s.Resource))).toContain(`:execution:${name}:*`);
      expect(actionsOf(env, 'Gate').some((a) => a.startsWith('states:'))).toBe(false);
    }
  });
});
