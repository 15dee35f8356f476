import { ArnFormat, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { DRIFT_EVENT, ENV, RETRAINING_TASKS, STATE_MACHINES } from '#contracts';
import { releaseStateMachineName, type VigilConfig } from '../config.ts';
import { ModelFunction } from '../constructs/model-function.ts';
import { NotificationTopic } from '../constructs/notification-topic.ts';
import { ReleaseStateMachine } from '../constructs/release-state-machine.ts';
import { grantListScoreDeployments } from '../constructs/score-deployment-group.ts';
import { type HandlerEntries, handlerEntries } from '../handler-entries.ts';
import type { ApiStack } from './api-stack.ts';
import { type DataStack, removalPolicyOf } from './data-stack.ts';
import type { DriftStack } from './drift-stack.ts';
import { type EksStack, TRAINING } from './eks-stack.ts';

/** Properties of {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  readonly config: VigilConfig;
  readonly data: DataStack;
  /** The cluster the large-data branch trains on (its VPC hosts the Job-submitting function). */
  readonly eks: EksStack;
  /** The environment's event bus (drift events arrive there). */
  readonly drift: DriftStack;
  /** The score function whose versions and `live` alias the release machine moves. */
  readonly api: ApiStack;
  /**
   * Handler entry files.
   * @default HANDLERS from lambdas/contracts.ts
   */
  readonly entries?: Partial<HandlerEntries>;
}

type TaskName = keyof typeof RETRAINING_TASKS;

/**
 * The retraining machine's name, fixed per environment so its ARN is known without a reference:
 * the Api stack's models function and this stack's AcquireLock build it from the name (a
 * reference from a task function's role to the machine would be a cycle: machine → function →
 * role policy → machine).
 */
export const retrainingMachineName = (config: VigilConfig): string => `vigil-${config.envName}-retraining`;

/** The retraining machine's ARN and the ARN pattern of its executions, in `stack`'s account and region. */
export const retrainingMachineArns = (stack: Stack, config: VigilConfig) => {
  const name = retrainingMachineName(config);
  const arn = (resource: string, resourceName: string) =>
    stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  return { machine: arn('stateMachine', name), executions: arn('execution', `${name}:*`) };
};

/**
 * Errors worth retrying: Lambda's own transient failures and throttles, and the AWS SDK's
 * throttling/timeout errors surfacing from a step (DynamoDB, S3, SNS, EventBridge).
 * Typed domain errors (`BadRequestError`, `InsufficientDataError` …) are not retried.
 */
export const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalServerError',
  'TimeoutError',
] as const;

/** Outcomes the Notify step reports (`vigil.retraining.<outcome>`), set by Pass states before it. */
const OUTCOME_PATH = '$.outcome';

/**
 * Retraining (DESIGN.md §8, §9 `Pipeline`): a Standard state machine in the JSONPath query
 * language, one Lambda task per step, each step's result at `$.<step>` (ResultPath), so only
 * URIs and summaries travel (256 KB state limit).
 *
 *   AcquireLock → [lock held elsewhere → Skipped]
 *   → PrepareData → ValidateData → [invalid → Notify → DataValidationFailed]
 *   → rows > lambdaMaxRows ? TrainOnEks (Job, waitForTaskToken) : TrainInLambda
 *   → Evaluate → Gate → [failed → Notify → GateFailed]
 *   → Register → [approval required: WaitForApproval (waitForTaskToken, timeout → Rejected)]
 *   → Notify → Succeeded
 *
 * Every task retries transient errors and catches the rest into Notify (`$.error`), which
 * publishes the outcome and releases the per-model lock. After Register (and approval), the
 * `Release` step runs the release machine (`startExecution.sync:2`) and its outcome is the
 * pipeline's: promoted → succeeded, rolled back → `release-rolled-back`.
 *
 * Triggers: an EventBridge rule on `vigil.drift.detected` and an optional schedule per model.
 *
 * EKS route: Step Functions' EKS integrations call the cluster's public endpoint, and ours
 * is private; `eks:call` also does not wait for a Job. So TrainOnEks invokes a function inside
 * the cluster's VPC (`waitForTaskToken`) that creates the Job (typed `kubernetes-models`
 * manifest) with the task token; the Job's trainer answers `SendTaskSuccess`/`SendTaskFailure`.
 */
export class PipelineStack extends Stack {
  public readonly stateMachine: sfn.StateMachine;
  /** The model-release machine (issue 11), started by the retraining machine's `Release` step and the API. */
  public readonly release: ReleaseStateMachine;
  public readonly functions: Readonly<Record<TaskName, ModelFunction>>;
  public readonly notifications: NotificationTopic;
  public readonly driftRule: events.Rule;
  public readonly schedules: events.Rule[];

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const entries = handlerEntries(props.entries);
    const removalPolicy = removalPolicyOf(config);
    const rc = config.retraining;
    // The environment's own bus (the Drift stack's): drift events of another environment never reach it.
    const bus = props.drift.bus;

    this.notifications = new NotificationTopic(this, 'RetrainingNotifications', {
      displayName: `Vigil ${config.envName} retraining`,
      email: config.alarmEmail,
      removalPolicy,
    });

    const settings = JSON.stringify({
      ...rc.settings,
      approvalRequired: rc.approvalRequired,
      lambdaMaxRows: rc.lambdaMaxRows,
    });
    const fn = (name: TaskName, opts: { heavy?: boolean; description: string; vpc?: ec2.IVpc }) => {
      const t = RETRAINING_TASKS[name];
      const f = new ModelFunction(this, `${name}Function`, {
        entry: entries[t.handler],
        serviceName: t.service,
        environmentName: config.envName,
        description: opts.description,
        logRetention: config.logRetentionDays,
        logRemovalPolicy: removalPolicy,
        memorySize: opts.heavy ? rc.trainMemoryMb : config.lambda.defaultMemoryMb,
        timeout: Duration.minutes(opts.heavy ? 15 : 1),
        environment: { [ENV.RETRAIN_CONFIG]: settings, [ENV.EVENT_BUS_NAME]: bus.eventBusName },
        vpc: opts.vpc,
      });
      return f;
    };
    // Object ARNs under one prefix are necessarily wildcards: the policies live beside the bucket,
    // one per function and access, each acknowledged there.
    const readS3 = (f: ModelFunction, prefixes: string[]) =>
      f.role.addManagedPolicy(
        data.artifacts.prefixPolicy(
          `${f.node.id}Read`,
          ['s3:GetObject'],
          prefixes,
          `Reads ${f.node.id} objects`,
        ),
      );
    const writeS3 = (f: ModelFunction, prefixes: string[]) => {
      f.role.addManagedPolicy(
        data.artifacts.prefixPolicy(
          `${f.node.id}Write`,
          ['s3:PutObject'],
          prefixes,
          `Writes ${f.node.id} objects`,
        ),
      );
      f.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [data.key.keyArn],
        }),
      );
    };
    const bucketEnv = (f: ModelFunction) =>
      f.bindBucket({ bucket: data.artifacts, envVar: ENV.ARTIFACT_BUCKET });
    const registry = (f: ModelFunction, accessMode: 'read' | 'readWrite') =>
      f.bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode });
    // The steps share one composition root that names the captures table; only PrepareData reads it.
    const capturesName = (f: ModelFunction) =>
      f.function.addEnvironment(ENV.CAPTURES_TABLE, data.capturesTable.tableName);
    const lockRelease = (f: ModelFunction) =>
      f.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:DeleteItem'],
          resources: [data.registryTable.tableArn],
        }),
      );
    const publishes = (f: ModelFunction) => {
      bus.grantPutEventsTo(f.role);
      f.function.addEnvironment(ENV.NOTIFY_TOPIC_ARN, this.notifications.topic.topicArn);
      // Explicit instead of grantPublish(): that grants kms:GenerateDataKey* (a wildcard) on the key.
      f.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.notifications.topic.topicArn] }),
      );
      f.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [this.notifications.key.keyArn],
        }),
      );
    };

    const fns = {
      AcquireLock: fn('AcquireLock', { description: 'Takes the per-model retraining lock' }),
      PrepareData: fn('PrepareData', { heavy: true, description: 'Writes the training dataset to S3' }),
      ValidateData: fn('ValidateData', {
        heavy: true,
        description: 'Checks the dataset against the production schema',
      }),
      TrainInLambda: fn('TrainInLambda', {
        heavy: true,
        description: 'Trains the candidate isolation forest',
      }),
      TrainOnEks: fn('TrainOnEks', {
        description: 'Creates the Kubernetes training Job',
        vpc: props.eks.cluster.vpc,
      }),
      Evaluate: fn('Evaluate', { heavy: true, description: 'Evaluates the candidate against production' }),
      Gate: fn('Gate', { description: 'Applies the release thresholds to the evaluation' }),
      Register: fn('Register', { description: 'Registers the candidate with its lineage' }),
      WaitForApproval: fn('WaitForApproval', { description: 'Stores the approval token and announces it' }),
      Notify: fn('Notify', { description: 'Reports the outcome and releases the lock' }),
    } satisfies Record<TaskName, ModelFunction>;
    this.functions = fns;

    for (const f of Object.values(fns)) capturesName(f);
    registry(fns.AcquireLock, 'readWrite');
    publishes(fns.AcquireLock);
    // Lock liveness: a holder whose execution no longer runs is released (DescribeExecution).
    const arns = retrainingMachineArns(this, config);
    fns.AcquireLock.function.addEnvironment(ENV.RETRAINING_MACHINE_ARN, arns.machine);
    fns.AcquireLock.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [arns.executions],
      }),
    );
    registry(fns.PrepareData, 'read').bindTable({
      table: data.capturesTable,
      envVar: ENV.CAPTURES_TABLE,
      accessMode: 'read',
    });
    // Feedback labels join the captured rows (the label column Evaluate and the Gate use).
    fns.PrepareData.bindTable({ table: data.feedbackTable, envVar: ENV.FEEDBACK_TABLE, accessMode: 'read' });
    bucketEnv(fns.PrepareData);
    readS3(fns.PrepareData, ['datasets/']);
    writeS3(fns.PrepareData, ['retraining/']);
    for (const f of [fns.ValidateData, fns.Evaluate, fns.Gate]) {
      registry(f, 'read');
      bucketEnv(f);
      readS3(f, ['retraining/']);
    }
    registry(fns.TrainInLambda, 'read');
    bucketEnv(fns.TrainInLambda);
    readS3(fns.TrainInLambda, ['retraining/']);
    writeS3(fns.TrainInLambda, ['retraining/']);
    registry(fns.TrainOnEks, 'read');
    this.wireJobSubmitter(fns.TrainOnEks, props, settings);
    registry(fns.Register, 'readWrite');
    bucketEnv(fns.Register);
    readS3(fns.Register, ['retraining/']);
    writeS3(fns.Register, ['models/']);
    registry(fns.WaitForApproval, 'readWrite');
    publishes(fns.WaitForApproval);
    registry(fns.Notify, 'readWrite');
    lockRelease(fns.Notify);
    publishes(fns.Notify);

    this.release = new ReleaseStateMachine(this, STATE_MACHINES.release.id, {
      environmentName: config.envName,
      stateMachineName: releaseStateMachineName(config),
      settings: config.release,
      entries,
      scoreFunction: props.api.score.function,
      grantListScoreDeployments: (f) => grantListScoreDeployments(f, config.envName),
      scoreVersionsPolicy: props.api.scoreVersionsPolicy,
      registryTable: data.registryTable,
      capturesTable: data.capturesTable,
      notifications: this.notifications,
      bus,
      logRetention: config.logRetentionDays,
      removalPolicy,
      memorySize: config.lambda.defaultMemoryMb,
    });

    // ---- the definition ----
    const payload = (withToken = false) =>
      sfn.TaskInput.fromObject({
        state: sfn.JsonPath.entirePayload,
        execution: { id: sfn.JsonPath.executionId, name: sfn.JsonPath.executionName },
        ...(withToken ? { taskToken: sfn.JsonPath.taskToken } : {}),
      });
    const mark = (outcome: string) =>
      new sfn.Pass(this, `Mark-${outcome}`, {
        result: sfn.Result.fromString(outcome),
        resultPath: OUTCOME_PATH,
      });

    const notify = new tasks.LambdaInvoke(this, 'Notify', {
      lambdaFunction: fns.Notify.function,
      payload: payload(),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.notify',
    });
    const markErrored = mark('errored');
    markErrored.next(notify);
    const task = (name: Exclude<TaskName, 'Notify' | 'TrainOnEks' | 'WaitForApproval'>, resultPath: string) =>
      withRetry(
        new tasks.LambdaInvoke(this, name, {
          lambdaFunction: fns[name].function,
          payload: payload(),
          payloadResponseOnly: true,
          retryOnServiceExceptions: false,
          resultPath,
        }),
      ).addCatch(markErrored, { resultPath: '$.error' });
    withRetry(notify).addCatch(new sfn.Fail(this, 'NotifyFailed', { error: 'NotifyFailed' }), {
      resultPath: '$.error',
    });

    const acquire = task('AcquireLock', '$.lock');
    const prepare = task('PrepareData', '$.prepare');
    const validate = task('ValidateData', '$.validation');
    const trainLambda = task('TrainInLambda', '$.train');
    const trainEks = withRetry(
      new tasks.LambdaInvoke(this, 'TrainOnEks', {
        lambdaFunction: fns.TrainOnEks.function,
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: payload(true),
        retryOnServiceExceptions: false,
        resultPath: '$.train',
        // The Job heartbeats nothing; the machine's timeout bounds it, this bounds the wait itself.
        taskTimeout: sfn.Timeout.duration(Duration.hours(rc.executionTimeoutHours)),
      }),
    ).addCatch(markErrored, { resultPath: '$.error' });
    const evaluate = task('Evaluate', '$.evaluate');
    const gateTask = task('Gate', '$.gate');
    const register = task('Register', '$.register');

    const markSucceeded = mark('succeeded');
    markSucceeded.next(notify);
    // The release machine's outcome is the pipeline's: promoted → succeeded; rolled back → its own
    // outcome (the release record says which signal); anything else → errored.
    // Built only when used: an unreachable state makes the definition invalid.
    const releaseStep = (): sfn.IChainable => {
      const markReleaseRolledBack = mark('release-rolled-back');
      markReleaseRolledBack.next(notify);
      // A failed `.sync` child fails the task with States.TaskFailed, never with the child's own
      // error: that is inside the Cause (DescribeExecution's JSON, `"Error":"ReleaseRolledBack"`).
      const howReleaseFailed = new sfn.Choice(this, 'ReleaseRolledBack?')
        .when(
          sfn.Condition.stringMatches('$.error.Cause', '*"Error":"ReleaseRolledBack"*'),
          markReleaseRolledBack,
        )
        .otherwise(markErrored);
      const release = withRetry(
        new tasks.StepFunctionsStartExecution(this, 'ReleaseStep', {
          stateName: 'Release',
          stateMachine: this.release.stateMachine,
          integrationPattern: sfn.IntegrationPattern.RUN_JOB,
          associateWithParent: true,
          input: sfn.TaskInput.fromObject({
            model: sfn.JsonPath.stringAt('$.model'),
            version: sfn.JsonPath.numberAt('$.register.version'),
            startedBy: sfn.JsonPath.format('retraining:{}', sfn.JsonPath.executionId),
          }),
          resultSelector: {
            status: sfn.JsonPath.stringAt('$.Status'),
            executionArn: sfn.JsonPath.stringAt('$.ExecutionArn'),
          },
          resultPath: '$.release',
        }),
      )
        .addCatch(howReleaseFailed, { errors: ['States.TaskFailed'], resultPath: '$.error' })
        .addCatch(markErrored, { resultPath: '$.error' });
      release.next(markSucceeded);
      return release;
    };
    const afterApproval: sfn.IChainable = rc.releaseAfterRegister ? releaseStep() : markSucceeded;
    let afterRegister: sfn.IChainable = afterApproval;
    if (rc.approvalRequired) {
      const markRejected = mark('rejected');
      markRejected.next(notify);
      const approval = withRetry(
        new tasks.LambdaInvoke(this, 'WaitForApproval', {
          lambdaFunction: fns.WaitForApproval.function,
          integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
          payload: payload(true),
          retryOnServiceExceptions: false,
          resultPath: '$.approval',
          taskTimeout: sfn.Timeout.duration(Duration.hours(rc.approvalTimeoutHours)),
        }),
      )
        // A person said no (SendTaskFailure with this error) or nobody answered in time: a clean end.
        .addCatch(markRejected, { errors: ['Rejected', 'States.Timeout'], resultPath: '$.error' })
        .addCatch(markErrored, { resultPath: '$.error' });
      approval.next(afterApproval);
      afterRegister = approval;
    }
    register.next(afterRegister);

    const gatePassed = new sfn.Choice(this, 'GatePassed?')
      .when(sfn.Condition.booleanEquals('$.gate.passed', true), register)
      .otherwise(mark('gate-failed').next(notify));
    evaluate.next(gateTask).next(gatePassed);
    const trainWhere = new sfn.Choice(this, 'TrainWhere?')
      .when(sfn.Condition.numberGreaterThan('$.prepare.rows', rc.lambdaMaxRows), trainEks)
      .otherwise(trainLambda);
    trainLambda.next(evaluate);
    trainEks.next(evaluate);
    const dataValid = new sfn.Choice(this, 'DataValid?')
      .when(sfn.Condition.booleanEquals('$.validation.ok', true), trainWhere)
      .otherwise(mark('validation-failed').next(notify));
    const lockHeld = new sfn.Choice(this, 'LockAcquired?')
      .when(sfn.Condition.booleanEquals('$.lock.acquired', true), prepare.next(validate).next(dataValid))
      .otherwise(
        new sfn.Succeed(this, 'Skipped', { comment: 'Another execution holds the model lock (recorded)' }),
      );

    notify.next(
      new sfn.Choice(this, 'Outcome?')
        .when(sfn.Condition.stringEquals(OUTCOME_PATH, 'succeeded'), new sfn.Succeed(this, 'Succeeded'))
        .when(sfn.Condition.stringEquals(OUTCOME_PATH, 'rejected'), new sfn.Succeed(this, 'Rejected'))
        .when(
          sfn.Condition.stringEquals(OUTCOME_PATH, 'release-rolled-back'),
          new sfn.Fail(this, 'ReleaseRolledBack', {
            error: 'ReleaseRolledBack',
            cause: 'The candidate was registered but its release rolled back; see the notification',
          }),
        )
        .when(
          sfn.Condition.stringEquals(OUTCOME_PATH, 'validation-failed'),
          new sfn.Fail(this, 'DataValidationFailed', {
            error: 'DataValidationFailed',
            cause: 'See the notification',
          }),
        )
        .when(
          sfn.Condition.stringEquals(OUTCOME_PATH, 'gate-failed'),
          new sfn.Fail(this, 'GateFailed', { error: 'GateFailed', cause: 'See the notification' }),
        )
        .otherwise(
          new sfn.Fail(this, 'RetrainingErrored', {
            error: 'RetrainingErrored',
            cause: 'See the notification',
          }),
        ),
    );

    const logGroup = new logs.LogGroup(this, 'RetrainingLogs', {
      retention: config.logRetentionDays,
      removalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, STATE_MACHINES.retraining.id, {
      stateMachineName: retrainingMachineName(config),
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(acquire.next(lockHeld)),
      timeout: Duration.hours(rc.executionTimeoutHours),
      tracingEnabled: true,
      // ALL events without payloads: states carry model names and URIs, never data, but no need to log them.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    // ---- triggers ----
    const startRole = new iam.Role(this, 'TriggerRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'Starts retraining executions from drift events and schedules',
    });
    this.driftRule = new events.Rule(this, 'DriftDetected', {
      description: 'A drift report said drift: retrain the model',
      eventBus: bus,
      eventPattern: { source: [DRIFT_EVENT.source], detailType: [DRIFT_EVENT.detailType] },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          role: startRole,
          input: events.RuleTargetInput.fromObject({
            model: events.EventField.fromPath('$.detail.model'),
            trigger: 'drift',
            driftReportId: events.EventField.fromPath('$.detail.reportId'),
            window: events.EventField.fromPath('$.detail.window'),
          }),
        }),
      ],
    });
    this.schedules = Object.entries(rc.schedules).map(
      ([model, expression]) =>
        new events.Rule(this, `Schedule-${model}`, {
          description: `Scheduled retraining of model ${model}`,
          schedule: events.Schedule.expression(expression),
          targets: [
            new targets.SfnStateMachine(this.stateMachine, {
              role: startRole,
              input: events.RuleTargetInput.fromObject({ model, trigger: 'schedule' }),
            }),
          ],
        }),
    );

    this.acknowledge(fns, config);
  }

  /**
   * TrainOnEks runs in the cluster's VPC (the API endpoint is private), may reach the cluster
   * on 443, and is mapped by an access entry to edit rights in the training namespace only.
   */
  private wireJobSubmitter(f: ModelFunction, props: PipelineStackProps, settings: string): void {
    const { cluster } = props.eks;
    const { data } = props;
    f.function.addEnvironment(ENV.EKS_CLUSTER_NAME, cluster.clusterName);
    f.function.addEnvironment(ENV.EKS_ENDPOINT, cluster.clusterEndpoint);
    f.function.addEnvironment(ENV.EKS_CA, cluster.clusterCertificateAuthorityData);
    f.function.addEnvironment(
      ENV.TRAINING_JOB,
      this.toJsonString({
        namespace: TRAINING.namespace,
        image: props.eks.image.imageUri,
        serviceAccountName: TRAINING.serviceAccount,
        env: {
          [ENV.REGISTRY_TABLE]: data.registryTable.tableName,
          [ENV.CAPTURES_TABLE]: data.capturesTable.tableName,
          [ENV.ARTIFACT_BUCKET]: data.artifacts.bucket.bucketName,
          [ENV.RETRAIN_CONFIG]: settings,
          AWS_REGION: this.region,
        },
      }),
    );
    // In this stack, not the cluster's: the rule references this function's group, so placing it
    // on the cluster side would make the Eks stack depend on this one (a cycle).
    const [sg] = f.function.connections.securityGroups;
    new ec2.CfnSecurityGroupIngress(this, 'SubmitterToCluster', {
      groupId: cluster.clusterSecurityGroupId,
      sourceSecurityGroupId: sg.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      description: 'TrainOnEks creates training Jobs through the private API endpoint',
    });
    new eks.AccessEntry(this, 'SubmitterAccess', {
      cluster,
      principal: f.role.roleArn,
      accessPolicies: [
        eks.AccessPolicy.fromAccessPolicyName('AmazonEKSEditPolicy', {
          accessScopeType: eks.AccessScopeType.NAMESPACE,
          namespaces: [TRAINING.namespace],
        }),
      ],
    });
  }

  /** cdk-nag acknowledgements, each scoped to one resource with its reason. */
  private acknowledge(fns: Record<TaskName, ModelFunction>, config: VigilConfig): void {
    const smPolicy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (smPolicy) {
      const release = this.getLogicalId(this.release.stateMachine.node.defaultChild as sfn.CfnStateMachine);
      Validations.of(smPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${release}"}]}]}*]`,
        reason:
          'The Release step (startExecution.sync) describes and stops executions of the release machine only; their names are not known at synth time.',
      });
      Validations.of(smPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing of the state machine: PutTraceSegments/GetSampling* have no resource-level permissions.',
      });
      Validations.of(fns.AcquireLock.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${retrainingMachineName(config)}:*]`,
        reason:
          'AcquireLock describes executions of the retraining machine only (lock liveness); execution ARNs end in their generated names.',
      });
      for (const [name, f] of Object.entries(fns)) {
        const id = this.getLogicalId(f.function.node.defaultChild as lambda.CfnFunction);
        Validations.of(smPolicy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
          reason: `The state machine invokes the ${name} function and its versions (ARN:*), nothing else.`,
        });
      }
    }
  }
}

/** Retry transient errors on a task: 3 attempts, exponential backoff with full jitter. */
function withRetry<T extends sfn.TaskStateBase>(t: T): T {
  t.addRetry({
    errors: [...TRANSIENT_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: 3,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return t;
}
