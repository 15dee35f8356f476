import { Arn, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DRIFT_EVENT, ENV, SERVICES } from '#contracts';
import type { VigilConfig } from '../config.ts';
import { DriftSummaryMachine } from '../constructs/drift-summary-machine.ts';
import { ModelFunction } from '../constructs/model-function.ts';
import { NotificationTopic } from '../constructs/notification-topic.ts';
import { type HandlerEntries, handlerEntries } from '../handler-entries.ts';
import { type DataStack, removalPolicyOf } from './data-stack.ts';

/** Properties of {@link DriftStack}. */
export interface DriftStackProps extends StackProps {
  readonly config: VigilConfig;
  readonly data: DataStack;
  /**
   * Handler entry files.
   * @default HANDLERS from lambdas/contracts.ts
   */
  readonly entries?: Partial<HandlerEntries>;
}

/** Name of an environment's event bus: each environment publishes and matches on its own. */
export const eventBusName = (config: VigilConfig): string => `vigil-${config.envName}`;

/**
 * Drift detection (DESIGN.md §7, §9 `Drift`): one EventBridge Scheduler schedule per model invokes
 * the drift evaluator (delivery retries, then a KMS-encrypted dead-letter queue); the evaluator
 * itself is invoked asynchronously, so a failed evaluation gets Lambda's async retries and then
 * lands in an on-failure queue (alarmed in Observability) instead of vanishing.
 *
 * `vigil.drift.detected` goes to the environment's own event bus (`vigil-<env>`), never the
 * account's default bus, so environments sharing an account cannot see each other's drift; a rule
 * on that bus notifies an SNS topic (the retraining state machine will be a second target).
 */
export class DriftStack extends Stack {
  public readonly evaluator: ModelFunction;
  /** The scheduler's dead-letter queue: invocations it could not deliver. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The evaluator's on-failure destination: evaluations that failed after Lambda's async retries. */
  public readonly evaluationFailures: sqs.Queue;
  /** This environment's event bus. */
  public readonly bus: events.EventBus;
  public readonly schedules: scheduler.Schedule[];
  public readonly driftDetectedRule: events.Rule;
  public readonly notifications: NotificationTopic;
  /** Drift over big windows: the Distributed Map over capture partitions (issue 15). */
  public readonly summaryMachine: DriftSummaryMachine;
  /** Whether the schedules start `summaryMachine` (window expected above `maxInMemoryRows`). */
  public readonly distributed: boolean;

  constructor(scope: Construct, id: string, props: DriftStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const entries = handlerEntries(props.entries);
    const removalPolicy = removalPolicyOf(config);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: eventBusName(config),
      description: `Vigil ${config.envName}: drift events`,
    });
    const bus = this.bus;

    this.evaluator = new ModelFunction(this, 'Evaluator', {
      entry: entries.driftEvaluate,
      serviceName: SERVICES.driftEvaluate,
      description: 'Compares recent captures with the model reference and stores a drift report',
      logRetention: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
      memorySize: config.lambda.driftMemoryMb,
      timeout: Duration.seconds(config.lambda.driftTimeoutSeconds),
      environment: {
        [ENV.DRIFT_WINDOW_MINUTES]: String(config.drift.windowMinutes),
        [ENV.DRIFT_MODELS]: config.drift.models.join(','),
        [ENV.DRIFT_CONFIG]: JSON.stringify(config.drift.settings),
        [ENV.EVENT_BUS_NAME]: bus.eventBusName,
      },
      environmentName: config.envName,
    })
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' })
      .bindTable({ table: data.driftTable, envVar: ENV.DRIFT_TABLE, accessMode: 'write' })
      .bindBucket({ bucket: data.artifacts, envVar: ENV.ARTIFACT_BUCKET });
    // Captures come back from where the score function puts them.
    this.evaluator.function.addEnvironment(ENV.CAPTURE_PATH, config.capture.path);
    this.evaluator.function.addEnvironment(ENV.CAPTURE_SHARDS, String(config.capture.shards));
    if (data.captureStream) this.evaluator.role.addManagedPolicy(data.captureStream.readPolicy);
    else
      this.evaluator.bindTable({ table: data.capturesTable, envVar: ENV.CAPTURES_TABLE, accessMode: 'read' });
    bus.grantPutEventsTo(this.evaluator.role);

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDlq', {
      encryption: sqs.QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the drift schedules.',
    });

    this.evaluationFailures = new sqs.Queue(this, 'EvaluationFailures', {
      encryption: sqs.QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.evaluationFailures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself the evaluator's on-failure destination (failed evaluations are parked here).",
    });
    this.evaluator.function.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.evaluationFailures),
      retryAttempts: config.drift.evaluatorRetryAttempts,
      maxEventAge: Duration.minutes(config.drift.maxEventAgeMinutes),
    });

    this.summaryMachine = new DriftSummaryMachine(this, 'Summary', {
      config,
      data,
      entries,
      bus,
      removalPolicy,
    });
    const dc = config.drift.distributed;
    this.distributed = dc.expectedWindowRows > dc.maxInMemoryRows;

    // One role for all schedules, created here so its policy can carry the acknowledgement below.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: this.distributed
        ? 'Starts the drift-summary state machine on schedule'
        : 'Invokes the drift evaluator on schedule',
    });
    const targetProps = (model: string) => ({
      input: scheduler.ScheduleTargetInput.fromObject({ model }),
      role: schedulerRole,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: config.drift.retryAttempts,
      maxEventAge: Duration.minutes(config.drift.maxEventAgeMinutes),
    });
    this.schedules = config.drift.models.map(
      (model) =>
        new scheduler.Schedule(this, `Schedule-${model}`, {
          description: `Hourly drift evaluation of model ${model}`,
          schedule: scheduler.ScheduleExpression.expression(config.drift.schedule),
          target: this.distributed
            ? new StepFunctionsStartExecution(this.summaryMachine.stateMachine, targetProps(model))
            : new LambdaInvoke(this.evaluator.function, targetProps(model)),
        }),
    );

    const evaluatorId = this.getLogicalId(this.evaluator.function.node.defaultChild as lambda.CfnFunction);
    const schedulerPolicy = schedulerRole.node.tryFindChild('DefaultPolicy');
    if (schedulerPolicy && !this.distributed) {
      Validations.of(schedulerPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${evaluatorId}.Arn>:*]`,
        reason: 'The grant covers the evaluator function and its versions/aliases (ARN:*), nothing else.',
      });
    }

    // Only rules on this environment's bus may publish, as EventBridge's service principal; the
    // target is bound by hand because CDK's SnsTopic target would add an unconditioned grant.
    this.notifications = new NotificationTopic(this, 'DriftNotifications', {
      displayName: `Vigil ${config.envName} drift detected`,
      publishers: [
        {
          service: 'events.amazonaws.com',
          sourceArns: [
            Arn.format(
              { service: 'events', resource: 'rule', resourceName: `${eventBusName(config)}/*` },
              this,
            ),
          ],
        },
      ],
      email: config.alarmEmail,
      removalPolicy,
    });
    const topicArn = this.notifications.topic.topicArn;
    this.driftDetectedRule = new events.Rule(this, 'DriftDetected', {
      description: 'A drift report said drift: notify subscribers (retraining pipeline to follow)',
      eventBus: bus,
      eventPattern: { source: [DRIFT_EVENT.source], detailType: [DRIFT_EVENT.detailType] },
      targets: [{ bind: () => ({ arn: topicArn }) }],
    });
  }
}
