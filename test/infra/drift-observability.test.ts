import { describe, expect, it } from 'vitest';
import { ENV } from '#contracts';
import { ENV_NAMES } from '../../lib/config.ts';
import { resourcesOf, type SynthesizedEnv, synthEnv } from './harness.ts';

const envs = Object.fromEntries(ENV_NAMES.map((name) => [name, synthEnv(name)])) as Record<
  (typeof ENV_NAMES)[number],
  SynthesizedEnv
>;

describe('Drift stack', () => {
  const { templates, config } = envs.prod;
  const t = templates.drift;

  it('schedules the evaluator once per configured model with the model as input', () => {
    const schedules = resourcesOf(t, 'AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(config.drift.models.length);
    const [[evaluatorId]] = resourcesOf(t, 'AWS::Lambda::Function').filter(
      ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'vigil-drift-evaluate',
    );
    for (const [[, p], model] of schedules.map((s, i) => [s, config.drift.models[i]] as const)) {
      expect(p.ScheduleExpression).toBe(config.drift.schedule);
      expect(p.Target.Arn).toEqual({ 'Fn::GetAtt': [evaluatorId, 'Arn'] });
      expect(JSON.parse(p.Target.Input)).toEqual({ model });
    }
  });

  it('retries failed invocations and then parks them in an encrypted dead-letter queue', () => {
    const [[, schedule]] = resourcesOf(t, 'AWS::Scheduler::Schedule');
    const [queueId, queue] =
      resourcesOf(t, 'AWS::SQS::Queue').find(([id]) => id.startsWith('ScheduleDlq')) ?? [];
    expect(schedule.Target.RetryPolicy).toEqual({
      MaximumRetryAttempts: config.drift.retryAttempts,
      MaximumEventAgeInSeconds: config.drift.maxEventAgeMinutes * 60,
    });
    expect(schedule.Target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    expect(queue?.KmsMasterKeyId).toBeDefined();
  });

  it('creates one schedule per model when more models are configured', () => {
    const two = synthEnv('dev', { drift: { ...envs.dev.config.drift, models: ['default', 'edge'] } });
    const inputs = resourcesOf(two.templates.drift, 'AWS::Scheduler::Schedule').map(([, p]) =>
      JSON.parse(p.Target.Input),
    );
    expect(inputs).toEqual([{ model: 'default' }, { model: 'edge' }]);
    for (const model of ['default', 'edge']) {
      two.templates.observability.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Drift',
        Dimensions: [
          { Name: 'environment', Value: 'dev' },
          { Name: 'model', Value: model },
          { Name: 'service', Value: 'vigil-drift-evaluate' },
        ],
      });
    }
    expect(two.nagFindings).toEqual([]);
  });

  it("routes vigil.drift.detected from the environment's own bus to the KMS-encrypted drift topic", () => {
    const [[, rule]] = resourcesOf(t, 'AWS::Events::Rule');
    const [[topicId, topic]] = resourcesOf(t, 'AWS::SNS::Topic');
    const [[busId]] = resourcesOf(t, 'AWS::Events::EventBus');
    expect(rule.EventBusName).toEqual({ Ref: busId });
    expect(rule.EventPattern).toEqual({ source: ['vigil.drift'], 'detail-type': ['vigil.drift.detected'] });
    expect(rule.Targets).toEqual([{ Arn: { Ref: topicId }, Id: 'Target0' }]);
    expect(topic.KmsMasterKeyId).toBeDefined();
  });

  it('tells the evaluator which window and models to evaluate', () => {
    const [[, fn]] = resourcesOf(t, 'AWS::Lambda::Function').filter(
      ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'vigil-drift-evaluate',
    );
    expect(fn.Environment.Variables).toMatchObject({
      [ENV.DRIFT_WINDOW_MINUTES]: String(config.drift.windowMinutes),
      [ENV.DRIFT_MODELS]: config.drift.models.join(','),
      [ENV.EVENT_BUS_NAME]: { Ref: resourcesOf(t, 'AWS::Events::EventBus')[0][0] },
    });
  });
});

describe.each(ENV_NAMES)('Observability stack in %s', (name) => {
  const { templates, config } = envs[name];
  const t = templates.observability;
  const alarms = new Map(resourcesOf(t, 'AWS::CloudWatch::Alarm'));
  const byPrefix = (prefix: string) => [...alarms].find(([id]) => id.startsWith(prefix))?.[1];

  it('sets the alarm thresholds of the environment', () => {
    const a = config.alarms;
    expect(byPrefix('ScoreErrors')).toMatchObject({
      MetricName: 'Errors',
      Threshold: a.scoreErrors,
      Statistic: 'Sum',
    });
    expect(byPrefix('ScoreP99Latency')).toMatchObject({
      MetricName: 'Duration',
      Threshold: a.scoreP99LatencyMs,
      ExtendedStatistic: 'p99',
    });
    expect(byPrefix('ScoreThrottles')).toMatchObject({
      MetricName: 'Throttles',
      Threshold: a.scoreThrottles,
    });
    // Dimensions must equal exactly what score-core emits (service plus the environment default
    // dimension; see score-metrics.test.ts and observability-env.test.ts).
    const serviceLevel = [
      { Name: 'environment', Value: config.envName },
      { Name: 'service', Value: 'vigil-score' },
    ];
    expect(byPrefix('CaptureErrors')).toMatchObject({
      MetricName: 'CaptureErrors',
      Namespace: 'Vigil',
      Threshold: a.captureErrors,
      Dimensions: serviceLevel,
    });
    expect(byPrefix('ScoreServerErrors')).toMatchObject({
      MetricName: 'ServerErrors',
      Dimensions: serviceLevel,
    });
    // A dependency outage (503) has its own alarm, apart from the bug metric (ServerErrors).
    expect(byPrefix('ScoreDependencyErrors')).toMatchObject({
      MetricName: 'DependencyErrors',
      Namespace: 'Vigil',
      Threshold: 1,
      Dimensions: serviceLevel,
    });
    expect(byPrefix('Driftdefault')).toMatchObject({
      MetricName: 'Drift',
      Namespace: 'Vigil',
      Threshold: a.drift,
    });
    for (const alarm of alarms.values()) {
      expect(alarm.EvaluationPeriods).toBeGreaterThanOrEqual(1);
    }
    expect(byPrefix('ScoreErrors')?.EvaluationPeriods).toBe(a.evaluationPeriods);
  });

  it('alarms when the anomaly rate leaves the configured band on either side', () => {
    const alarm = byPrefix('AnomalyRatedefault');
    const expressions = ((alarm ?? {}).Metrics as { Expression?: string }[])
      .map((m) => m.Expression)
      .filter(Boolean);
    expect(expressions).toContain(
      `IF(rate < ${config.alarms.anomalyRateLow} OR rate > ${config.alarms.anomalyRateHigh}, 1, 0)`,
    );
    expect(expressions).toContain('anomalies0 / rows0');
    expect(alarm?.Threshold).toBe(1);
  });

  it('notifies the KMS-encrypted alarm topic from every alarm', () => {
    const [[topicId, topic]] = resourcesOf(t, 'AWS::SNS::Topic');
    expect(topic.KmsMasterKeyId).toBeDefined();
    for (const alarm of alarms.values()) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it('lets CloudWatch use the topic key, which SSE topics need for alarm delivery', () => {
    const [[, key]] = resourcesOf(t, 'AWS::KMS::Key');
    expect(key.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' } }),
    );
    expect(key.EnableKeyRotation).toBe(true);
  });

  it('outputs the dashboard URL and the topic ARN', () => {
    expect(Object.keys(t.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['DashboardUrl', 'AlarmTopicArn']),
    );
  });

  it('charts latency percentiles, anomaly rate, drifted share and the alias traffic split', () => {
    const body = JSON.stringify(resourcesOf(t, 'AWS::CloudWatch::Dashboard')[0][1].DashboardBody);
    for (const text of [
      'p50',
      'p90',
      'p99',
      'anomalies0 / rows0',
      'DriftedFeatureShare',
      'ExecutedVersion',
    ]) {
      expect(body).toContain(text);
    }
  });
});

describe('alarm e-mail subscription', () => {
  it('subscribes the configured e-mail to the alarm topic', () => {
    const withEmail = synthEnv('dev', { alarmEmail: 'ops@example.com' });
    withEmail.templates.observability.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('creates no subscription when no e-mail is configured', () => {
    envs.dev.templates.observability.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});
