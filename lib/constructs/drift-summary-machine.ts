import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CAPTURE_LAYOUT, DRIFT_SUMMARY_PREFIX, DRIFT_SUMMARY_TASKS, ENV, STATE_MACHINES } from '#contracts';
import type { VigilConfig } from '../config.ts';
import type { HandlerEntries } from '../handler-entries.ts';
import type { DataStack } from '../stacks/data-stack.ts';
import { ModelFunction } from './model-function.ts';

/** Errors worth retrying on a Lambda task: the service's, throttles and timeouts, never a bug. */
export const DRIFT_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'ServiceUnavailable',
  'InternalServerError',
  'TimeoutError',
] as const;

/** Properties of {@link DriftSummaryMachine}. */
export interface DriftSummaryMachineProps {
  readonly config: VigilConfig;
  readonly data: DataStack;
  readonly entries: HandlerEntries;
  /** The environment's bus (`vigil.drift.detected` from the reduce step). */
  readonly bus: events.IEventBus;
  readonly removalPolicy: RemovalPolicy;
}

type TaskName = keyof typeof DRIFT_SUMMARY_TASKS;

/**
 * Drift over big windows (issue 15): `Plan` fixes the window and lists partitions, a Distributed
 * Map runs one `Summarize` child per capture partition (DynamoDB model-hour-shards from the plan,
 * or, on the Firehose path, the Parquet objects an S3 ItemReader lists under the plan's prefix),
 * each child writes its summary to the artifact bucket and returns only its URI (a Map's results
 * share the 256 KB state limit), and `Reduce` merges them into the same report the in-memory
 * evaluator writes. Every task retries transient errors and is caught into one `Fail` state; a
 * failed child fails the Map (tolerated failures 0): a report from part of a window would say
 * less than it claims.
 */
export class DriftSummaryMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly functions: Readonly<Record<TaskName, ModelFunction>>;

  constructor(scope: Construct, id: string, props: DriftSummaryMachineProps) {
    super(scope, id);
    const { config, data, entries, bus, removalPolicy } = props;
    const dc = config.drift.distributed;
    const env = {
      [ENV.DRIFT_WINDOW_MINUTES]: String(config.drift.windowMinutes),
      [ENV.DRIFT_CONFIG]: JSON.stringify(config.drift.settings),
      // The partitions are wherever the score path writes captures: one setting, `capture`.
      [ENV.CAPTURE_PATH]: config.capture.path,
      [ENV.CAPTURE_SHARDS]: String(config.capture.shards),
      [ENV.EVENT_BUS_NAME]: bus.eventBusName,
      [ENV.CAPTURES_TABLE]: data.capturesTable.tableName,
      [ENV.ARTIFACT_BUCKET]: data.artifacts.bucket.bucketName,
    };
    const fn = (name: TaskName, description: string, memorySize: number, timeout: Duration) =>
      new ModelFunction(this, `${name}Function`, {
        entry: entries[DRIFT_SUMMARY_TASKS[name].handler],
        serviceName: DRIFT_SUMMARY_TASKS[name].service,
        environmentName: config.envName,
        description,
        logRetention: config.logRetentionDays,
        logRemovalPolicy: removalPolicy,
        memorySize,
        timeout,
        environment: env,
      });
    const fns = {
      Plan: fn(
        'Plan',
        'Fixes a drift window and lists its capture partitions',
        config.lambda.defaultMemoryMb,
        Duration.minutes(1),
      ),
      Summarize: fn(
        'Summarize',
        'Summarizes one capture partition for drift',
        dc.summarizeMemoryMb,
        Duration.minutes(15),
      ),
      Reduce: fn(
        'Reduce',
        'Merges partition summaries into the drift report',
        config.lambda.driftMemoryMb,
        Duration.minutes(5),
      ),
    } satisfies Record<TaskName, ModelFunction>;
    this.functions = fns;

    // Least privilege, per task. Plan: resolve the model and read its manifest.
    fns.Plan.bindTable({
      table: data.registryTable,
      envVar: ENV.REGISTRY_TABLE,
      accessMode: 'read',
    }).bindBucket({
      bucket: data.artifacts,
      envVar: ENV.ARTIFACT_BUCKET,
    });
    // Summarize: read its partition (a table Query, or a Parquet object), write its summary.
    fns.Summarize.bindTable({ table: data.capturesTable, envVar: ENV.CAPTURES_TABLE, accessMode: 'read' });
    const s3 = (f: ModelFunction, action: string, prefix: string) =>
      f.role.addManagedPolicy(
        data.artifacts.prefixPolicy(
          `${id}${f.node.id}${action.split(':')[1]}`,
          [action],
          [prefix],
          `${f.node.id}: ${action}`,
        ),
      );
    s3(fns.Summarize, 's3:GetObject', CAPTURE_LAYOUT.s3Prefix);
    s3(fns.Summarize, 's3:PutObject', DRIFT_SUMMARY_PREFIX);
    fns.Summarize.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [data.key.keyArn],
      }),
    );
    // Reduce: the manifest, the summaries, the report, the metrics and the event.
    fns.Reduce.bindTable({ table: data.driftTable, envVar: ENV.DRIFT_TABLE, accessMode: 'write' }).bindBucket(
      {
        bucket: data.artifacts,
        envVar: ENV.ARTIFACT_BUCKET,
      },
    );
    s3(fns.Reduce, 's3:GetObject', DRIFT_SUMMARY_PREFIX);
    bus.grantPutEventsTo(fns.Reduce.role);

    // ---- the definition ----
    const failed = new sfn.Fail(this, 'DriftSummaryFailed', {
      error: 'DriftSummaryFailed',
      cause: 'A task failed after its retries; see the execution history',
    });
    const retry = <T extends sfn.TaskStateBase | sfn.DistributedMap>(t: T): T => {
      t.addRetry({
        errors: [...DRIFT_TRANSIENT_ERRORS],
        interval: Duration.seconds(2),
        maxAttempts: 4,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return t;
    };
    const invoke = (name: TaskName, stateId: string, payload: Record<string, unknown>, resultPath?: string) =>
      retry(
        new tasks.LambdaInvoke(this, stateId, {
          lambdaFunction: fns[name].function,
          payload: sfn.TaskInput.fromObject(payload),
          payloadResponseOnly: true,
          retryOnServiceExceptions: false,
          ...(resultPath ? { resultPath } : {}),
        }),
      );
    const plan = invoke(
      'Plan',
      'Plan',
      { model: sfn.JsonPath.stringAt('$.model'), runId: sfn.JsonPath.executionName },
      '$.plan',
    );
    plan.addCatch(failed, { resultPath: '$.error' });

    // One child definition for both sources: `{ plan, partition }` → `{ uri, rows }`.
    const child = (stateId: string) => {
      const t = invoke('Summarize', stateId, {
        plan: sfn.JsonPath.objectAt('$.plan'),
        partition: sfn.JsonPath.stringAt('$.partition'),
      });
      return t;
    };
    const mapOf = (stateId: string, opts: Partial<sfn.DistributedMapProps>, childId: string) => {
      const m = new sfn.DistributedMap(this, stateId, {
        maxConcurrency: dc.maxConcurrency,
        toleratedFailurePercentage: 0,
        resultPath: '$.summaries',
        mapExecutionType: sfn.StateMachineType.STANDARD,
        ...opts,
      });
      m.itemProcessor(child(childId));
      retry(m).addCatch(failed, { resultPath: '$.error' });
      return m;
    };
    const dynamoMap = mapOf(
      'SummarizeShards',
      {
        itemsPath: '$.plan.partitions',
        itemSelector: {
          plan: sfn.JsonPath.objectAt('$.plan'),
          partition: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
        },
      },
      'Summarize',
    );
    const s3Map = mapOf(
      'SummarizeObjects',
      {
        itemReader: new sfn.S3ObjectsItemReader({
          bucket: data.artifacts.bucket,
          prefix: sfn.JsonPath.stringAt('$.plan.prefix'),
        }),
        itemSelector: {
          plan: sfn.JsonPath.objectAt('$.plan'),
          partition: sfn.JsonPath.stringAt('$$.Map.Item.Value.Key'),
        },
      },
      'SummarizeObject',
    );
    const reduce = invoke(
      'Reduce',
      'Reduce',
      { plan: sfn.JsonPath.objectAt('$.plan'), summaries: sfn.JsonPath.listAt('$.summaries') },
      '$.report',
    );
    reduce.addCatch(failed, { resultPath: '$.error' });
    const done = new sfn.Succeed(this, 'ReportStored');
    reduce.next(done);
    dynamoMap.next(reduce);
    s3Map.next(reduce);
    const source = new sfn.Choice(this, 'Source?')
      .when(sfn.Condition.stringEquals('$.plan.source', 's3'), s3Map)
      .otherwise(dynamoMap);

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: config.logRetentionDays, removalPolicy });
    // Scoped to the stack, not this construct: its logical id must be the contracts' id plus CDK's
    // hash, which is how the local runner finds it in the template (STATE_MACHINES).
    this.stateMachine = new sfn.StateMachine(Stack.of(this), STATE_MACHINES.driftSummary.id, {
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(source)),
      timeout: Duration.hours(2),
      tracingEnabled: true,
      // Events without payloads: states carry model names, keys and URIs, no captured data.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // The S3 ItemReader lists the capture prefix only.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [data.artifacts.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${CAPTURE_LAYOUT.s3Prefix}*`] } },
      }),
    );
    this.acknowledge();
  }

  /** cdk-nag acknowledgements, each scoped to one resource with its reason. */
  private acknowledge(): void {
    const stack = Stack.of(this);
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing of the state machine: PutTraceSegments/GetSampling* have no resource-level permissions.',
      });
      for (const [name, f] of Object.entries(this.functions)) {
        const id = stack.getLogicalId(f.function.node.defaultChild as lambda.CfnFunction);
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
          reason: `The state machine invokes the ${name} function and its versions (ARN:*), nothing else.`,
        });
      }
    }
    const mapPolicy = this.stateMachine.node.tryFindChild('DistributedMapPolicy');
    if (mapPolicy) {
      const sm = stack.getLogicalId(this.stateMachine.node.defaultChild as sfn.CfnStateMachine);
      const execution = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${sm}"}]}]}`;
      for (const suffix of [':*', '/*:*']) {
        Validations.of(mapPolicy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${execution}${suffix}]`,
          reason:
            'Distributed Map: the machine describes and stops its own child executions, whose names Step Functions makes per run.',
        });
      }
    }
  }
}
