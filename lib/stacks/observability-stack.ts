import { Arn, ArnFormat, Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Construct } from 'constructs';
import { METRICS, SERVICES } from '#contracts';
import { driftIntervalMinutes, stackPrefix, type VigilConfig } from '../config.ts';
import { NotificationTopic } from '../constructs/notification-topic.ts';
import { vigilMetric } from '../constructs/vigil-metric.ts';
import type { ApiStack } from './api-stack.ts';
import type { DataStack } from './data-stack.ts';
import { removalPolicyOf } from './data-stack.ts';
import type { DriftStack } from './drift-stack.ts';

/** Properties of {@link ObservabilityStack}. */
export interface ObservabilityStackProps extends StackProps {
  readonly config: VigilConfig;
  readonly api: ApiStack;
  readonly drift: DriftStack;
  /** The Data stack, for the capture path's own alarms (Firehose freshness, parked backlog). */
  readonly data?: DataStack;
}

/**
 * Alarms, the alarm topic and the dashboard (DESIGN.md §9 `Observability`): score errors, p99
 * latency, throttles, capture errors, drift and an anomaly rate outside its expected band, all
 * notifying a KMS-encrypted SNS topic.
 */
export class ObservabilityStack extends Stack {
  public readonly alarmTopic: NotificationTopic;
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by a stable name (`ScoreErrors`, `Drift-default`, …). */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, api, drift, data } = props;
    const a = config.alarms;
    const period = Duration.minutes(a.periodMinutes);
    const scoreFn = api.score.function;
    const emf = (metricName: string, service: string, statistic: string, model?: string) =>
      vigilMetric(config, { metricName, service, statistic, period, model });
    // Alarm names carry the environment, so the topic policy can admit exactly this environment's.
    const alarmName = (name: string) => `${stackPrefix(config)}-${name}`;

    this.alarmTopic = new NotificationTopic(this, 'Alarms', {
      displayName: `Vigil ${config.envName} alarms`,
      publishers: [
        {
          service: 'cloudwatch.amazonaws.com',
          sourceArns: [
            Arn.format(
              {
                service: 'cloudwatch',
                resource: 'alarm',
                resourceName: `${stackPrefix(config)}-*`,
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              },
              this,
            ),
          ],
        },
      ],
      email: config.alarmEmail,
      removalPolicy: removalPolicyOf(config),
    });
    const action = new SnsAction(this.alarmTopic.topic);
    const alarm = (
      name: string,
      props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number },
    ): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmName: alarmName(name),
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
        evaluationPeriods: props.evaluationPeriods ?? a.evaluationPeriods,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms[name] = created;
      return created;
    };
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;

    alarm('ScoreErrors', {
      alarmDescription: 'Score function errors',
      metric: scoreFn.metricErrors({ period, statistic: 'Sum' }),
      threshold: a.scoreErrors,
      comparisonOperator: atLeast,
    });
    alarm('ScoreP99Latency', {
      alarmDescription: 'Score function p99 duration (ms)',
      metric: scoreFn.metricDuration({ period, statistic: 'p99' }),
      threshold: a.scoreP99LatencyMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('ScoreThrottles', {
      alarmDescription: 'Throttled score invocations',
      metric: scoreFn.metricThrottles({ period, statistic: 'Sum' }),
      threshold: a.scoreThrottles,
      comparisonOperator: atLeast,
    });
    alarm('ScoreServerErrors', {
      alarmDescription: 'Genuine 500s answered by the score function (ServerErrors EMF metric)',
      metric: emf(METRICS.serverErrors, SERVICES.score, 'Sum'),
      threshold: a.scoreErrors,
      comparisonOperator: atLeast,
    });
    // Pages the operator on a dependency outage; not a rollback alarm (api.rollbackAlarms), so an
    // outage of a shared table never rolls a healthy release back.
    alarm('ScoreDependencyErrors', {
      alarmDescription:
        'Requests answered 503: DynamoDB, S3 or Secrets Manager unavailable (DependencyErrors)',
      metric: emf(METRICS.dependencyErrors, SERVICES.score, 'Sum'),
      threshold: 1,
      comparisonOperator: atLeast,
    });
    alarm('CaptureErrors', {
      alarmDescription: 'Scored rows that could not be written to the captures table',
      metric: emf(METRICS.captureErrors, SERVICES.score, 'Sum'),
      threshold: a.captureErrors,
      comparisonOperator: atLeast,
    });

    // Metric ids must be unique within one graph, which shows every model: suffix the model index.
    const anomalyRate = (model: string, index: number) =>
      new cloudwatch.MathExpression({
        label: `anomaly rate ${model}`,
        expression: `anomalies${index} / rows${index}`,
        usingMetrics: {
          [`anomalies${index}`]: emf(METRICS.anomalies, SERVICES.score, 'Sum', model),
          [`rows${index}`]: emf(METRICS.rowsScored, SERVICES.score, 'Sum', model),
        },
        period,
      });
    // One datapoint per evaluation: the period is the schedule's interval, and an hour without a
    // report keeps the alarm's state (MISSING is "ignore") instead of flipping it back to OK, so a
    // drifted hour sends one notification, not an ALARM and an OK a minute apart.
    const driftPeriod = Duration.minutes(driftIntervalMinutes(config));
    const evaluator = drift.evaluator.function;
    alarm('DriftEvaluatorErrors', {
      alarmDescription:
        'Drift evaluations that failed (after Lambda async retries they are parked in the on-failure queue)',
      metric: evaluator.metricErrors({ period: driftPeriod, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: atLeast,
    });
    alarm('DriftEvaluationFailuresParked', {
      alarmDescription: 'Drift evaluations parked in the on-failure queue (redrive after fixing the cause)',
      metric: drift.evaluationFailures.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: atLeast,
    });
    alarm('DriftScheduleDeadLetters', {
      alarmDescription: 'Scheduled drift invocations the scheduler could not deliver (dead-letter queue)',
      metric: drift.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: atLeast,
    });
    for (const [index, model] of config.drift.models.entries()) {
      alarm(`Drift-${model}`, {
        alarmDescription: `Latest drift report of model ${model} says drift`,
        metric: vigilMetric(config, {
          metricName: METRICS.drift,
          service: SERVICES.driftEvaluate,
          statistic: 'Maximum',
          period: driftPeriod,
          model,
        }),
        threshold: a.drift,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
      alarm(`DriftEvaluationErrors-${model}`, {
        alarmDescription: `Drift evaluation of model ${model} threw (DriftEvaluationErrors EMF metric)`,
        metric: vigilMetric(config, {
          metricName: METRICS.driftEvaluationErrors,
          service: SERVICES.driftEvaluate,
          statistic: 'Sum',
          period: driftPeriod,
          model,
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
      });
      // One alarm for both sides of the band: 1 when the rate leaves [low, high], else 0.
      alarm(`AnomalyRate-${model}`, {
        alarmDescription: `Anomaly rate of model ${model} outside [${a.anomalyRateLow}, ${a.anomalyRateHigh}]`,
        metric: new cloudwatch.MathExpression({
          label: `anomaly rate of ${model} outside band`,
          expression: `IF(rate < ${a.anomalyRateLow} OR rate > ${a.anomalyRateHigh}, 1, 0)`,
          usingMetrics: { rate: anomalyRate(model, index) },
          period,
        }),
        threshold: 1,
        comparisonOperator: atLeast,
      });
    }

    // The no-loss invariant's failure buckets, per model as they are emitted (with `environment`).
    for (const model of config.drift.models) {
      alarm(`CapturesLost-${model}`, {
        alarmDescription: `Capture rows of model ${model} given up on (CapturesLost): the bucket that must stay at zero`,
        metric: emf(METRICS.capturesLost, SERVICES.score, 'Sum', model),
        threshold: 1,
        comparisonOperator: atLeast,
      });
      alarm(`CapturesParked-${model}`, {
        alarmDescription: `Capture rows of model ${model} parked for replay (CapturesParked): the ${config.capture.path} path is throttled or down`,
        metric: emf(METRICS.capturesParked, SERVICES.score, 'Sum', model),
        threshold: config.capture.parkedAlarm,
        comparisonOperator: atLeast,
      });
    }
    const parking = data?.captureParking;
    if (parking) {
      // The drain empties the queue on its own; a message still there after three of its retry
      // intervals means the path is still refusing (or the drain is failing).
      const stuck = 3 * config.capture.drain.visibilitySeconds;
      alarm('CaptureParkingBacklog', {
        alarmDescription: `Parked capture rows not drained for ${stuck} s: the ${data.captureStream ? 'stream' : 'captures table'} still refuses them or the drain fails (see the vigil-capture-drain logs)`,
        metric: parking.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
        threshold: stuck,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
      });
      alarm('CaptureParkingDeadLetters', {
        alarmDescription: `Parked capture messages the drain gave up on after ${config.capture.drain.maxReceiveCount} receives: redrive the dead-letter queue to the parking queue once the cause is fixed`,
        metric: parking.deadLetters.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: atLeast,
      });
    }
    const stream = data?.captureStream;
    if (stream) {
      // Records older than two buffer intervals (plus the retry window) are not reaching S3.
      const fresh = 2 * config.capture.bufferSeconds + 300;
      alarm('CaptureDeliveryFreshness', {
        alarmDescription: `Oldest capture record in the stream older than ${fresh} s: delivery to S3 is failing`,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Firehose',
          metricName: 'DeliveryToS3.DataFreshness',
          dimensionsMap: { DeliveryStreamName: stream.streamName },
          statistic: 'Maximum',
          period,
        }),
        threshold: fresh,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    const live = api.liveAlias;
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Score latency (ms)',
        left: ['p50', 'p90', 'p99'].map((statistic) =>
          scoreFn.metricDuration({ period, statistic, label: `score ${statistic}` }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Invocations',
        left: [
          scoreFn.metricInvocations({ period, label: 'score' }),
          api.explain.function.metricInvocations({ period, label: 'explain' }),
          drift.evaluator.function.metricInvocations({ period, label: 'drift evaluator' }),
        ],
        right: [scoreFn.metricErrors({ period, label: 'score errors' })],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Anomaly rate per model',
        left: config.drift.models.map(anomalyRate),
        leftAnnotations: [
          { value: a.anomalyRateLow, label: 'band low' },
          { value: a.anomalyRateHigh, label: 'band high' },
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drifted feature share per model',
        left: config.drift.models.map((model) =>
          vigilMetric(config, {
            metricName: METRICS.driftedFeatureShare,
            service: SERVICES.driftEvaluate,
            statistic: 'Maximum',
            period: driftPeriod,
            model,
          }).with({ label: model }),
        ),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'live alias traffic by version',
        // Versions change with every deploy, so search by the ExecutedVersion dimension.
        left: [
          new cloudwatch.MathExpression({
            label: '',
            expression: `SEARCH('{AWS/Lambda,FunctionName,Resource,ExecutedVersion} FunctionName="${scoreFn.functionName}" Resource="${scoreFn.functionName}:${live.aliasName}" MetricName="Invocations"', 'Sum', ${period.toSeconds()})`,
            period,
          }),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [...Object.values(this.alarms), ...api.rollbackAlarms],
        width: 24,
      }),
    );

    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`,
      description: 'CloudWatch dashboard',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarmTopic.topic.topicArn,
      description: 'Alarm topic',
    });
  }
}
