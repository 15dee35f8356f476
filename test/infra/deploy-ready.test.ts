import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SEED, ENV } from '#contracts';
import { ApiKeySetSchema } from '#core/auth.ts';
import { driftIntervalMinutes, ENV_NAMES, loadConfig } from '../../lib/config.ts';
import { ArtifactBucket } from '../../lib/constructs/artifact-bucket.ts';
import { DEFAULT_PACKAGE_DIR } from '../../lib/constructs/default-model-seed.ts';
import { REPO_ROOT } from '../../lib/constructs/model-function.ts';
import { NotificationTopic } from '../../lib/constructs/notification-topic.ts';
import { API_KEYS_SECRET_NONCE } from '../../lib/stacks/data-stack.ts';
import { addVigilStacks, CROSS_STACK_REFERENCES, type VigilStacks } from '../../lib/vigil-app.ts';
import { type CfnProps, resourcesOf, synthEnv, testApp, testEntries, vigilFunctions } from './harness.ts';

// Findings of issue 17 ("deploy-ready"): each block asserts the property whose absence would make
// the deployed stacks fail silently or block later changes.

const prod = synthEnv('prod');
const dev = synthEnv('dev');

/** Every template of an environment's stacks, by stack name. */
const templatesOf = (stacks: VigilStacks): [string, Template][] =>
  Object.values(stacks).map((s) => [s.stackName, Template.fromStack(s)]);

/** Metric stats an alarm reads: its own metric, or each MetricStat of a math expression. */
const alarmMetrics = (alarm: CfnProps): CfnProps[] =>
  alarm.MetricName
    ? [{ Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions ?? [] }]
    : (alarm.Metrics as CfnProps[])
        .filter((m) => m.MetricStat)
        .map((m) => ({ ...m.MetricStat.Metric, Dimensions: m.MetricStat.Metric.Dimensions ?? [] }));

/** Logical ids (`Ref`, `Fn::GetAtt`) and producer stacks (`Fn::GetStackOutput`) a value points at. */
const pointers = (value: unknown): { ids: string[]; stacks: string[] } => {
  const ids: string[] = [];
  const stacks: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item);
      return;
    }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string' && !o.Ref.startsWith('AWS::')) ids.push(o.Ref);
    if (Array.isArray(o['Fn::GetAtt'])) ids.push(o['Fn::GetAtt'][0] as string);
    const out = o['Fn::GetStackOutput'] as { StackName?: string } | undefined;
    if (out?.StackName) stacks.push(out.StackName);
    for (const item of Object.values(o)) walk(item);
  };
  walk(value);
  return { ids, stacks };
};

describe('alarm delivery (SNS topic policy)', () => {
  const build = () => {
    const stack = new Stack(testApp(), 'T');
    new NotificationTopic(stack, 'Topic', {
      displayName: 'alarms',
      publishers: [
        { service: 'cloudwatch.amazonaws.com', sourceArns: ['arn:aws:cloudwatch:eu-west-1:1:alarm:X-*'] },
      ],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return Template.fromStack(stack);
  };
  const scoped = {
    ArnLike: { 'aws:SourceArn': ['arn:aws:cloudwatch:eu-west-1:1:alarm:X-*'] },
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
  };

  it('allows the publishing service sns:Publish on the topic, scoped by source ARN and account', () => {
    build().hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: scoped,
          }),
        ]),
      },
    });
  });

  it('keeps the TLS-only deny beside the allow', () => {
    build().hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets the service use the topic key under the same conditions', () => {
    build().hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: scoped }),
        ]),
      },
    });
  });

  it('refuses a publisher without source ARNs (an unscoped service grant)', () => {
    const stack = new Stack(testApp(), 'T');
    expect(
      () =>
        new NotificationTopic(stack, 'Topic', {
          displayName: 'x',
          publishers: [{ service: 'cloudwatch.amazonaws.com', sourceArns: [] }],
          removalPolicy: RemovalPolicy.DESTROY,
        }),
    ).toThrow(/needs at least one sourceArn/);
  });

  it.each(ENV_NAMES)(
    'admits exactly the alarms of %s on its alarm topic, and every alarm is named so',
    (name) => {
      const env = name === 'prod' ? prod : synthEnv(name);
      const t = env.templates.observability;
      const [[, policy]] = resourcesOf(t, 'AWS::SNS::TopicPolicy');
      const allow = (policy.PolicyDocument.Statement as CfnProps[]).find(
        (s) => s.Effect === 'Allow' && s.Action === 'sns:Publish',
      );
      expect(allow?.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
      expect(JSON.stringify(allow?.Condition.ArnLike['aws:SourceArn'])).toContain(`:alarm:Vigil-${name}-*`);
      for (const [, alarm] of resourcesOf(t, 'AWS::CloudWatch::Alarm')) {
        expect(alarm.AlarmName).toMatch(new RegExp(`^Vigil-${name}-`));
      }
    },
  );

  it('admits only rules on the environment bus to publish drift notifications, with no unscoped grant', () => {
    const [[, policy]] = resourcesOf(prod.templates.drift, 'AWS::SNS::TopicPolicy');
    const allows = (policy.PolicyDocument.Statement as CfnProps[]).filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0].Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(JSON.stringify(allows[0].Condition.ArnLike['aws:SourceArn'])).toContain(':rule/vigil-prod/*');
  });
});

describe('failed drift evaluations are kept (async invoke)', () => {
  const t = prod.templates.drift;
  const queueId = () => {
    const found = resourcesOf(t, 'AWS::SQS::Queue').find(([id]) => id.startsWith('EvaluationFailures'));
    expect(found).toBeDefined();
    return found?.[0] as string;
  };

  it('sends a failed evaluation to an encrypted on-failure queue after the configured retries', () => {
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      Qualifier: '$LATEST',
      MaximumRetryAttempts: prod.config.drift.evaluatorRetryAttempts,
      MaximumEventAgeInSeconds: prod.config.drift.maxEventAgeMinutes * 60,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId(), 'Arn'] } } },
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: Match.anyValue(),
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it("lets the evaluator's role send to that queue", () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [queueId(), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('alarms on evaluator errors, on parked failures and on undeliverable schedules', () => {
    const alarms = resourcesOf(prod.templates.observability, 'AWS::CloudWatch::Alarm').map(([, a]) => a);
    const named = (suffix: string) => alarms.find((a) => a.AlarmName === `Vigil-prod-${suffix}`);
    expect(named('DriftEvaluatorErrors')).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors' });
    expect(named('DriftEvaluationFailuresParked')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
    expect(named('DriftScheduleDeadLetters')).toMatchObject({ Namespace: 'AWS/SQS' });
    expect(named('DriftEvaluationErrors-default')).toMatchObject({
      Namespace: 'Vigil',
      MetricName: 'DriftEvaluationErrors',
    });
  });
});

describe('drift alarm matches the schedule', () => {
  it('uses one period per evaluation and keeps its state through the hours without a report', () => {
    const alarm = resourcesOf(prod.templates.observability, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a)
      .find((a) => a.AlarmName === 'Vigil-prod-Drift-default');
    expect(alarm).toMatchObject({ Period: 3600, EvaluationPeriods: 1, TreatMissingData: 'ignore' });
  });

  it('derives the interval from a rate() schedule and demands it for a cron() one', () => {
    const base = loadConfig('dev').drift;
    expect(
      driftIntervalMinutes(loadConfig('dev', { drift: { ...base, schedule: 'rate(30 minutes)' } })),
    ).toBe(30);
    expect(driftIntervalMinutes(loadConfig('dev', { drift: { ...base, schedule: 'rate(1 day)' } }))).toBe(
      1440,
    );
    const cron = { ...base, schedule: 'cron(0 * * * ? *)' };
    expect(() => driftIntervalMinutes(loadConfig('dev', { drift: cron }))).toThrow(
      /set drift.intervalMinutes/,
    );
    expect(driftIntervalMinutes(loadConfig('dev', { drift: { ...cron, intervalMinutes: 60 } }))).toBe(60);
    expect(() =>
      driftIntervalMinutes(loadConfig('dev', { drift: { ...base, intervalMinutes: 30 } })),
    ).toThrow(/disagrees/);
  });
});

describe('environments sharing one account', () => {
  // GIVEN dev and prod synthesized into one app, as `cdk deploy` into one account would create them.
  const app = testApp();
  const both = {
    dev: addVigilStacks(app, loadConfig('dev'), { entries: testEntries() }),
    prod: addVigilStacks(app, loadConfig('prod'), { entries: testEntries() }),
  };

  it.each(['dev', 'prod'] as const)('no alarm of %s reads a metric of the other environment', (name) => {
    let checked = 0;
    for (const [stackName, t] of templatesOf(both[name])) {
      const own = new Set(Object.keys(t.toJSON().Resources));
      for (const [id, alarm] of resourcesOf(t, 'AWS::CloudWatch::Alarm')) {
        for (const metric of alarmMetrics(alarm)) {
          const where = `${stackName}/${id} ${metric.MetricName}`;
          const dims = metric.Dimensions as { Name: string; Value: unknown }[];
          expect(dims.length, where).toBeGreaterThan(0);
          if (metric.Namespace === 'Vigil') {
            expect(dims.find((d) => d.Name === 'environment')?.Value, where).toBe(name);
          }
          // AWS metrics select by resource: each must point into this environment's stacks.
          const { ids, stacks } = pointers(dims);
          for (const ref of ids) expect(own.has(ref), `${where} -> ${ref}`).toBe(true);
          for (const producer of stacks) expect(producer, where).toMatch(new RegExp(`^Vigil-${name}-`));
          if (metric.Namespace !== 'Vigil') expect(ids.length + stacks.length, where).toBeGreaterThan(0);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('gives each environment its own bus, and its rules and publisher use only that bus', () => {
    const busNames = (['dev', 'prod'] as const).map((name) => {
      const t = Template.fromStack(both[name].drift);
      const [[busId, bus]] = resourcesOf(t, 'AWS::Events::EventBus');
      for (const [, rule] of resourcesOf(t, 'AWS::Events::Rule')) {
        expect(rule.EventBusName).toEqual({ Ref: busId });
      }
      const [[, evaluator]] = vigilFunctions(t);
      expect(evaluator.Environment.Variables[ENV.EVENT_BUS_NAME]).toEqual({ Ref: busId });
      return bus.Name;
    });
    expect(busNames).toEqual(['vigil-dev', 'vigil-prod']);
  });

  it('tells every function and the streaming scorer which environment it emits for', () => {
    for (const name of ['dev', 'prod'] as const) {
      for (const [, t] of templatesOf(both[name])) {
        for (const [, fn] of vigilFunctions(t)) expect(fn.Environment.Variables[ENV.ENVIRONMENT]).toBe(name);
      }
      const eks = JSON.stringify(Template.fromStack(both[name].eks).toJSON());
      expect(eks).toContain(`\\"${ENV.ENVIRONMENT}\\":\\"${name}\\"`);
    }
  });
});

describe('cross-stack references', () => {
  it('passes values between stacks as stack outputs, never exports an import would pin', () => {
    for (const [stackName, t] of templatesOf(prod.stacks)) {
      const json = JSON.stringify(t.toJSON());
      expect(json, stackName).not.toContain('Fn::ImportValue');
      for (const output of Object.values(t.toJSON().Outputs ?? {})) {
        expect((output as CfnProps).Export, stackName).toBeUndefined();
      }
    }
    expect(JSON.stringify(prod.templates.api.toJSON())).toContain('Fn::GetStackOutput');
  });

  it('refuses an app that asks for strong references', () => {
    const app = new App({ context: { [CROSS_STACK_REFERENCES]: 'strong' } });
    expect(() => addVigilStacks(app, loadConfig('dev'), { entries: testEntries() })).toThrow(
      /weak cross-stack references/,
    );
  });
});

describe('API-key secret', () => {
  it('is generated once by CloudFormation: the template holds no value to overwrite issued keys', () => {
    prod.templates.data.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: Match.absent(),
      GenerateSecretString: { SecretStringTemplate: '{"keys":[]}', GenerateStringKey: API_KEYS_SECRET_NONCE },
    });
  });

  it('starts as a key set the authorizer parses (the generated field is ignored)', () => {
    expect(ApiKeySetSchema.parse({ keys: [], [API_KEYS_SECRET_NONCE]: 'random' })).toEqual({ keys: [] });
  });
});

describe('a fresh environment scores: the default-model seed', () => {
  const t = prod.templates.data;
  const seedFn = () => {
    const found = vigilFunctions(t).find(
      ([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'vigil-seed-default-model',
    );
    expect(found).toBeDefined();
    return found as [string, CfnProps];
  };
  const seedStatements = (): CfnProps[] => {
    const [, fn] = seedFn();
    const roleId = fn.Role['Fn::GetAtt'][0];
    return resourcesOf(t, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Roles as CfnProps[]).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
  };
  const actionsOf = (s: CfnProps): string[] => [s.Action].flat();

  it('registers the shipped package through a custom resource served by the seed function', () => {
    const [fnId] = seedFn();
    const [[, seed], ...more] = resourcesOf(t, 'Custom::VigilDefaultModelSeed');
    expect(more).toHaveLength(0);
    expect(seed.ServiceToken).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    // The bootstrap bucket of the deploying account and region (default qualifier).
    expect(seed[DEFAULT_MODEL_SEED.bucketProperty]['Fn::Sub']).toMatch(
      /^cdk-hnb659fds-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}$/,
    );
    expect(seed[DEFAULT_MODEL_SEED.keyProperty]).toMatch(/^[0-9a-f]{64}\.zip$/);
  });

  it('ships model.onnx and manifest.json, not the training data', () => {
    const { asset } = prod.stacks.data.defaultModelSeed;
    expect(readdirSync(join(prod.app.outdir, asset.assetPath)).sort()).toEqual([
      'manifest.json',
      'model.onnx',
    ]);
  });

  it('seeds the model the score function preloads', async () => {
    const manifest = JSON.parse(
      await readFile(join(REPO_ROOT, DEFAULT_PACKAGE_DIR, 'manifest.json'), 'utf8'),
    );
    const [[, score]] = vigilFunctions(prod.templates.api).filter(
      ([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'vigil-score',
    );
    expect(score.Environment.Variables[ENV.PRELOAD_MODELS].split(',')).toContain(manifest.name);
  });

  it('reads only its asset object, writes only packages and registry items (least privilege)', () => {
    const [, fn] = seedFn();
    const statements = seedStatements();
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    const text = (v: unknown) => JSON.stringify(v);
    expect(s3.map((s) => actionsOf(s))).toEqual([['s3:GetObject'], ['s3:PutObject']]);
    const [get, put] = s3;
    // The one asset object: its exact key, no wildcard into the bootstrap bucket.
    expect(text(get?.Resource)).toContain(`/${seedKey()}`);
    expect(text(get?.Resource)).not.toContain('*');
    expect(text(put?.Resource)).toMatch(/\/models\/\*"/);
    expect(text(statements)).not.toContain('staging/');
    const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(1);
    expect(actionsOf(dynamo[0] as CfnProps).some((a) => /Scan|Delete|\*/.test(a))).toBe(false);
    const registryId = resourcesOf(t, 'AWS::DynamoDB::Table').find(([id]) => id.startsWith('Registry'))?.[0];
    expect(dynamo[0]?.Resource).toEqual({ 'Fn::GetAtt': [registryId, 'Arn'] });
    expect(fn.Environment.Variables[ENV.ARTIFACT_BUCKET]).toBeDefined();
    expect(fn.Environment.Variables[ENV.REGISTRY_TABLE]).toEqual({ Ref: registryId });
  });
  const seedKey = () =>
    resourcesOf(t, 'Custom::VigilDefaultModelSeed')[0]?.[1][DEFAULT_MODEL_SEED.keyProperty];
});

describe('bucket deletion', () => {
  it('empties both buckets on delete where the environment destroys them', () => {
    dev.templates.data.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });

  it('never auto-deletes a retained bucket', () => {
    prod.templates.data.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    const stack = new Stack(testApp(), 'T');
    expect(
      () =>
        new ArtifactBucket(stack, 'B', {
          encryptionKey: new kms.Key(stack, 'K'),
          removalPolicy: RemovalPolicy.RETAIN,
          autoDeleteObjects: true,
        }),
    ).toThrow(/autoDeleteObjects needs removalPolicy DESTROY/);
  });
});

describe('reserved concurrency', () => {
  it('is optional per environment: dev reserves none', () => {
    const [[, score]] = vigilFunctions(dev.templates.api).filter(
      ([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'vigil-score',
    );
    expect(dev.config.lambda.scoreReservedConcurrency).toBeUndefined();
    expect(score.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('access-log bucket', () => {
  it('receives S3 log delivery through its bucket policy with ACLs disabled (no legacy AccessControl)', () => {
    const t = prod.templates.data;
    t.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      AccessControl: Match.absent(),
    });
    for (const [, bucket] of resourcesOf(t, 'AWS::S3::Bucket')) expect(bucket.AccessControl).toBeUndefined();
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' } }),
        ]),
      },
    });
  });
});
