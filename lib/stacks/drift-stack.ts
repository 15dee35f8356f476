import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DRIFT_EVENT, ENV, SERVICES } from '#contracts';
import type { VigilConfig } from '../config.ts';
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

/**
 * Drift detection (DESIGN.md §7, §9 `Drift`): one EventBridge Scheduler schedule per model invokes
 * the drift evaluator (retries, then a KMS-encrypted dead-letter queue); a rule on
 * `vigil.drift.detected` notifies an SNS topic (the retraining state machine will be a second target).
 */
export class DriftStack extends Stack {
  public readonly evaluator: ModelFunction;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly schedules: scheduler.Schedule[];
  public readonly driftDetectedRule: events.Rule;
  public readonly notifications: NotificationTopic;

  constructor(scope: Construct, id: string, props: DriftStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const entries = handlerEntries(props.entries);
    const removalPolicy = removalPolicyOf(config);
    const bus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');

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
    })
      .bindTable({ table: data.registryTable, envVar: ENV.REGISTRY_TABLE, accessMode: 'read' })
      .bindTable({ table: data.capturesTable, envVar: ENV.CAPTURES_TABLE, accessMode: 'read' })
      .bindTable({ table: data.driftTable, envVar: ENV.DRIFT_TABLE, accessMode: 'write' })
      .bindBucket({ bucket: data.artifacts, envVar: ENV.ARTIFACT_BUCKET });
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

    // One role for all schedules, created here so its policy can carry the acknowledgement below.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Invokes the drift evaluator on schedule',
    });
    this.schedules = config.drift.models.map(
      (model) =>
        new scheduler.Schedule(this, `Schedule-${model}`, {
          description: `Hourly drift evaluation of model ${model}`,
          schedule: scheduler.ScheduleExpression.expression(config.drift.schedule),
          target: new LambdaInvoke(this.evaluator.function, {
            input: scheduler.ScheduleTargetInput.fromObject({ model }),
            role: schedulerRole,
            deadLetterQueue: this.deadLetterQueue,
            retryAttempts: config.drift.retryAttempts,
            maxEventAge: Duration.minutes(config.drift.maxEventAgeMinutes),
          }),
        }),
    );

    const evaluatorId = this.getLogicalId(this.evaluator.function.node.defaultChild as lambda.CfnFunction);
    const schedulerPolicy = schedulerRole.node.tryFindChild('DefaultPolicy');
    if (schedulerPolicy) {
      Validations.of(schedulerPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${evaluatorId}.Arn>:*]`,
        reason: 'The grant covers the evaluator function and its versions/aliases (ARN:*), nothing else.',
      });
    }

    this.notifications = new NotificationTopic(this, 'DriftNotifications', {
      displayName: `Vigil ${config.envName} drift detected`,
      publisherServices: ['events.amazonaws.com'],
      email: config.alarmEmail,
      removalPolicy,
    });
    this.driftDetectedRule = new events.Rule(this, 'DriftDetected', {
      description: 'A drift report said drift: notify subscribers (retraining pipeline to follow)',
      eventBus: bus,
      eventPattern: { source: [DRIFT_EVENT.source], detailType: [DRIFT_EVENT.detailType] },
      targets: [new targets.SnsTopic(this.notifications.topic)],
    });
  }
}
