import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ENV, type HANDLERS, RELEASE_TASKS, SCORE_LIVE_ALIAS } from '#contracts';
import { ModelFunction } from './model-function.ts';

type TaskName = keyof typeof RELEASE_TASKS;

/**
 * Errors worth retrying on a release task: Lambda's transient failures and the SDK's throttles
 * (DynamoDB, the Lambda API, CloudWatch). A `ConflictError` (a guard that did not hold) is not
 * retried: the Catch rolls the release back.
 */
export const RELEASE_RETRY_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'ThrottlingException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'ServiceUnavailable',
  'TimeoutError',
] as const;

/** Properties of {@link ReleaseStateMachine}. */
export interface ReleaseStateMachineProps {
  /** `dev` | `staging` | `prod`: the `environment` dimension and the machine's name. */
  readonly environmentName: string;
  /** Fixed name (the Api stack's releases function starts it by ARN). */
  readonly stateMachineName: string;
  /** Release settings (`ReleaseSettingsSchema`), written to every task's `VIGIL_RELEASE_CONFIG`. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Handler entry file per task's handler key. */
  readonly entries: Readonly<Record<keyof typeof HANDLERS, string>>;
  /** The score function whose versions and `live` alias a release moves. */
  readonly scoreFunction: lambda.IFunction;
  /**
   * Lets a task list the score function's CodeDeploy deployments (Begin refuses during one):
   * `grantListScoreDeployments` of the Api stack.
   */
  readonly grantListScoreDeployments: (f: ModelFunction) => void;
  /**
   * Deleting the score function's versions (`<arn>:*`), kept beside the function (its stack
   * acknowledges the wildcard there); attached to Finish and Rollback.
   */
  readonly scoreVersionsPolicy: iam.IManagedPolicy;
  readonly registryTable: ITable;
  readonly capturesTable: ITable;
  readonly notifications: { readonly topic: sns.ITopic; readonly key: kms.IKey };
  readonly bus: events.IEventBus;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
  /** Memory of the task functions. @default 256 */
  readonly memorySize?: number;
  /**
   * Bound on a whole release (shadow + every bake + pauses). @default 6 hours
   */
  readonly timeout?: Duration;
}

/**
 * The model-release state machine (DESIGN.md §8, issue 11); create it with the id
 * `STATE_MACHINES.release.id`. It is Standard, JSONPath, one Lambda per
 * task (`RELEASE_TASKS`), every task retried on transient errors and caught into Rollback:
 *
 *   Abort? → abort: Abort (the Rollback function: stop the release's execution, roll back) → Aborted
 *          → else:  Begin
 *   Begin → [shadow? Wait(plan.shadowSeconds)] → Judge
 *   Judge → continue: Advance → Wait(advance.bakeSeconds) → Judge
 *         → pause: Wait(plan.pauseSeconds) → Judge
 *         → rollback: Rollback → RolledBack (Fail)
 *         → promote: Promote → Wait(promote.waitSeconds, the alias cache) → Finish → Promoted
 *
 * Bake times are not in the definition: Wait states read them from the tasks' results, which
 * compute them from the policy and `VIGIL_RELEASE_CONFIG` (so the twin's `timeScale` shortens
 * them without another definition). The tasks' IAM is this score function's versions and its
 * `live` alias only, plus the registry and captures tables, the topic and the bus.
 */
export class ReleaseStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly functions: Readonly<Record<TaskName, ModelFunction>>;

  constructor(scope: Construct, id: string, props: ReleaseStateMachineProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const settings = JSON.stringify(props.settings);
    const fn = (name: TaskName, description: string) => {
      const t = RELEASE_TASKS[name];
      return new ModelFunction(this, `${name}Function`, {
        entry: props.entries[t.handler],
        serviceName: t.service,
        environmentName: props.environmentName,
        description,
        logRetention: props.logRetention,
        logRemovalPolicy: removalPolicy,
        memorySize: props.memorySize ?? 256,
        timeout: Duration.minutes(1),
        environment: {
          [ENV.RELEASE_CONFIG]: settings,
          [ENV.SCORE_FUNCTION_NAME]: props.scoreFunction.functionName,
          [ENV.EVENT_BUS_NAME]: props.bus.eventBusName,
          [ENV.NOTIFY_TOPIC_ARN]: props.notifications.topic.topicArn,
        },
      })
        .bindTable({ table: props.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'readWrite' })
        .bindTable({ table: props.capturesTable, envVar: ENV.CAPTURES_TABLE, accessMode: 'read' });
    };
    const fns = {
      Begin: fn('Begin', 'Records a model release and publishes green pinned to the candidate'),
      Judge: fn('Judge', 'Judges a release step from per-version readings and captures'),
      Advance: fn('Advance', 'Moves the live alias weight on green to the next step'),
      Promote: fn('Promote', "Moves the registry's production alias to the candidate"),
      Finish: fn('Finish', 'Takes green out of live and retires it after a promotion'),
      Rollback: fn('Rollback', 'Takes green out of live and retires it; production untouched'),
    } satisfies Record<TaskName, ModelFunction>;
    this.functions = fns;
    this.grant(fns, props);

    const payload = sfn.TaskInput.fromObject({
      state: sfn.JsonPath.entirePayload,
      execution: { id: sfn.JsonPath.executionId, name: sfn.JsonPath.executionName },
    });
    const invoke = (name: TaskName, stateName: string, resultPath: string) =>
      new tasks.LambdaInvoke(this, stateName, {
        lambdaFunction: fns[name].function,
        payload,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        resultPath,
      }).addRetry({
        errors: [...RELEASE_RETRY_ERRORS],
        interval: Duration.seconds(2),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });

    const rollback = invoke('Rollback', 'Rollback', '$.rollback');
    rollback.addCatch(
      new sfn.Fail(this, 'RollbackFailed', { error: 'ReleaseRollbackFailed', cause: 'See the logs' }),
      {
        resultPath: '$.error',
      },
    );
    rollback.next(
      new sfn.Choice(this, 'RolledBackHow?')
        // An error after Promote moved `production`: the release did promote (Rollback records it).
        .when(
          sfn.Condition.stringEquals('$.rollback.outcome', 'promoted'),
          new sfn.Succeed(this, 'PromotedLate'),
        )
        .when(
          sfn.Condition.stringEquals('$.rollback.outcome', 'rolled-back'),
          new sfn.Fail(this, 'RolledBack', {
            error: 'ReleaseRolledBack',
            cause: 'A signal breached; see the release record',
          }),
        )
        .otherwise(
          new sfn.Fail(this, 'ReleaseFailed', { error: 'ReleaseFailed', cause: 'See the release record' }),
        ),
    );
    const caught = <T extends sfn.TaskStateBase>(t: T): T => {
      t.addCatch(rollback, { resultPath: '$.error' });
      return t;
    };

    const begin = caught(invoke('Begin', 'Begin', '$.begin'));
    // `POST …/releases/{id}/abort` starts an execution of its own that only rolls back: Rollback
    // stops the release's execution, takes green out and records the release rolled back.
    const abort = invoke('Rollback', 'Abort', '$.rollback');
    abort.addCatch(
      new sfn.Fail(this, 'AbortFailed', {
        error: 'ReleaseAbortFailed',
        cause: 'See the Rollback logs; aborting again is safe',
      }),
      { resultPath: '$.error' },
    );
    abort.next(new sfn.Succeed(this, 'Aborted'));
    const start = new sfn.Choice(this, 'Abort?')
      .when(sfn.Condition.isPresent('$.abort'), abort)
      .otherwise(begin);
    const judge = caught(invoke('Judge', 'Judge', '$.judge'));
    const advance = caught(invoke('Advance', 'Advance', '$.advance'));
    const promote = caught(invoke('Promote', 'Promote', '$.promote'));
    const finish = caught(invoke('Finish', 'Finish', '$.finish'));

    const wait = (stateName: string, secondsPath: string, comment: string) =>
      new sfn.Wait(this, stateName, { time: sfn.WaitTime.secondsPath(secondsPath), comment });
    const shadowBake = wait(
      'ShadowBake',
      '$.begin.plan.shadowSeconds',
      'Blue scores the candidate in-process',
    );
    const bake = wait('Bake', '$.advance.bakeSeconds', 'Green serves its weight of live');
    const paused = wait('Paused', '$.begin.plan.pauseSeconds', 'A dependency outage: judge again later');
    const aliasCache = wait(
      'AliasCacheWait',
      '$.promote.waitSeconds',
      'Warm instances drop the old production',
    );

    promote.next(aliasCache).next(finish).next(new sfn.Succeed(this, 'Promoted'));
    advance.next(bake).next(judge);
    shadowBake.next(judge);
    paused.next(judge);
    judge.next(
      new sfn.Choice(this, 'Decision?')
        .when(sfn.Condition.stringEquals('$.judge.decision', 'rollback'), rollback)
        .when(sfn.Condition.stringEquals('$.judge.decision', 'pause'), paused)
        .when(sfn.Condition.stringEquals('$.judge.decision', 'promote'), promote)
        .otherwise(advance),
    );
    begin.next(
      new sfn.Choice(this, 'Shadow?')
        .when(sfn.Condition.booleanEquals('$.begin.shadow', true), shadowBake)
        .when(sfn.Condition.booleanEquals('$.begin.hasSteps', true), advance)
        .otherwise(promote),
    );

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy });
    // `Default`: CDK leaves it out of the logical id, so the template's id is the construct's own
    // (`STATE_MACHINES.release.id` + hash), the one the local runner looks for.
    this.stateMachine = new sfn.StateMachine(this, 'Default', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(start),
      timeout: props.timeout ?? Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.acknowledge(fns);
  }

  /** Exactly what each task calls: this score function's versions and `live` alias, nothing else. */
  private grant(fns: Record<TaskName, ModelFunction>, props: ReleaseStateMachineProps): void {
    const fnArn = props.scoreFunction.functionArn;
    const aliasArn = `${fnArn}:${SCORE_LIVE_ALIAS}`;
    const allow = (f: ModelFunction, actions: string[], resources: string[]) =>
      f.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
    // Begin publishes green: reads blue's routing and code, pins $LATEST's environment for the
    // publish under its revision id, and restores it.
    allow(fns.Begin, ['lambda:GetAlias'], [aliasArn]);
    props.grantListScoreDeployments(fns.Begin);
    allow(
      fns.Begin,
      ['lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionConfiguration', 'lambda:PublishVersion'],
      [fnArn],
    );
    for (const f of [fns.Advance, fns.Finish, fns.Rollback])
      allow(f, ['lambda:GetAlias', 'lambda:UpdateAlias'], [aliasArn]);
    // Retire deletes the pinned version (a qualified ARN): the policy beside the function.
    for (const f of [fns.Finish, fns.Rollback]) f.role.addManagedPolicy(props.scoreVersionsPolicy);
    // GetMetricData has no resource-level permissions.
    allow(fns.Judge, ['cloudwatch:GetMetricData'], ['*']);
    // An abort stops the release's own execution first (an execution of this machine only).
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    allow(fns.Rollback, ['states:StopExecution'], [executions]);
    const rollbackPolicy = fns.Rollback.role.node.tryFindChild('DefaultPolicy');
    if (rollbackPolicy) {
      Validations.of(rollbackPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${props.stateMachineName}:*]`,
        reason:
          'An abort stops the release execution it rolls back: executions of this machine only; their names are generated.',
      });
    }
    for (const f of [fns.Finish, fns.Rollback]) {
      props.bus.grantPutEventsTo(f.role);
      allow(f, ['sns:Publish'], [props.notifications.topic.topicArn]);
      allow(f, ['kms:GenerateDataKey', 'kms:Decrypt'], [props.notifications.key.keyArn]);
    }
    const judgePolicy = fns.Judge.role.node.tryFindChild('DefaultPolicy');
    if (judgePolicy) {
      Validations.of(judgePolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'cloudwatch:GetMetricData has no resource-level permissions; X-Ray tracing neither.',
      });
    }
  }

  /** cdk-nag acknowledgements of the machine's role, each scoped with its reason. */
  private acknowledge(fns: Record<TaskName, ModelFunction>): void {
    const smPolicy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (!smPolicy) return;
    Validations.of(smPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing of the state machine: PutTraceSegments/GetSampling* have no resource-level permissions.',
    });
    const stack = Stack.of(this);
    for (const [name, f] of Object.entries(fns)) {
      const id = stack.getLogicalId(f.function.node.defaultChild as lambda.CfnFunction);
      Validations.of(smPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
        reason: `The release machine invokes the ${name} function and its versions (ARN:*), nothing else.`,
      });
    }
  }
}
