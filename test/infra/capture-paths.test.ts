import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAPTURE_COLUMNS, CAPTURE_LAYOUT, CAPTURE_PARTITION_KEYS, ENV } from '#contracts';
import { CAPTURE_PARTITION_QUERY } from '../../lib/constructs/capture-stream.ts';
import { type CfnProps, resourcesOf, type SynthesizedEnv, synthEnv, vigilFunctions } from './harness.ts';

const envOf = (env: SynthesizedEnv, service: string): Record<string, unknown> => {
  const fn = vigilFunctions(env.templates.api)
    .concat(vigilFunctions(env.templates.drift))
    .find(([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === service);
  if (!fn) throw new Error(`no function ${service}`);
  return fn[1].Environment.Variables;
};

/** Every action the role policies of a stack grant, with their resources as JSON text. */
const grants = (env: SynthesizedEnv, stack: 'api' | 'drift'): { actions: string[]; resources: string }[] =>
  resourcesOf(env.templates[stack], 'AWS::IAM::Policy').flatMap(([, p]) =>
    (p.PolicyDocument.Statement as CfnProps[]).map((s) => ({
      actions: [s.Action].flat() as string[],
      resources: JSON.stringify(s.Resource),
    })),
  );

/** The captures API function's own grants: inline statements and managed policy ids of its role. */
const capturesRole = (env: SynthesizedEnv) => {
  const t = env.templates.api;
  const [, fn] = vigilFunctions(t).find(
    ([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'vigil-captures',
  ) as [string, CfnProps];
  const roleId = fn.Role['Fn::GetAtt'][0] as string;
  const statements = resourcesOf(t, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[])
    .map((st) => ({ actions: [st.Action].flat() as string[], resources: JSON.stringify(st.Resource) }));
  const [, role] = resourcesOf(t, 'AWS::IAM::Role').find(([id]) => id === roleId) as [string, CfnProps];
  return { statements, managed: JSON.stringify(role.ManagedPolicyArns ?? []) };
};

describe('capture paths in CDK', () => {
  let prod: SynthesizedEnv;
  let dev: SynthesizedEnv;
  beforeAll(() => {
    prod = synthEnv('prod');
    dev = synthEnv('dev', {
      capture: { ...synthEnv('dev').config.capture, shards: 8 },
    });
  });

  describe('GIVEN the Firehose path (prod)', () => {
    it('creates a Direct PUT stream with dynamic partitioning by model/date/hour and the shared error prefix', () => {
      prod.templates.data.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
        DeliveryStreamType: 'DirectPut',
        DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
        ExtendedS3DestinationConfiguration: Match.objectLike({
          Prefix:
            'captures/model=!{partitionKeyFromQuery:model}/date=!{partitionKeyFromQuery:date}/hour=!{partitionKeyFromQuery:hour}/',
          ErrorOutputPrefix: Match.stringLikeRegexp(
            `^${CAPTURE_LAYOUT.s3ErrorPrefix}!\\{firehose:error-output-type\\}/`,
          ),
          DynamicPartitioningConfiguration: { Enabled: true, RetryOptions: { DurationInSeconds: 300 } },
          CompressionFormat: 'UNCOMPRESSED',
          ProcessingConfiguration: {
            Enabled: true,
            Processors: [
              Match.objectLike({ Type: 'RecordDeAggregation' }),
              {
                Type: 'MetadataExtraction',
                Parameters: Match.arrayWith([
                  { ParameterName: 'MetadataExtractionQuery', ParameterValue: CAPTURE_PARTITION_QUERY },
                ]),
              },
            ],
          },
          DataFormatConversionConfiguration: Match.objectLike({
            Enabled: true,
            OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
            SchemaConfiguration: Match.objectLike({ DatabaseName: 'vigil_prod', TableName: 'captures' }),
          }),
        }),
      });
    });

    it('the Hive prefix the stream writes is the one CAPTURE_LAYOUT gives readers', () => {
      const [[, stream]] = resourcesOf(prod.templates.data, 'AWS::KinesisFirehose::DeliveryStream');
      const prefix = stream.ExtendedS3DestinationConfiguration.Prefix as string;
      const filled = prefix
        .replace('!{partitionKeyFromQuery:model}', 'cpu')
        .replace('!{partitionKeyFromQuery:date}', '2026-01-05')
        .replace('!{partitionKeyFromQuery:hour}', '07');
      expect(filled).toBe(CAPTURE_LAYOUT.s3Partition('cpu', '2026-01-05T07'));
    });

    it('declares the Glue table with CAPTURE_COLUMNS, features as map<string,double>, projected partitions', () => {
      const [[, table]] = resourcesOf(prod.templates.data, 'AWS::Glue::Table');
      const input = table.TableInput;
      expect(input.StorageDescriptor.Columns).toEqual(
        CAPTURE_COLUMNS.map((c) => ({ Name: c.name, Type: c.type })),
      );
      expect(input.StorageDescriptor.Columns).toContainEqual({
        Name: 'features',
        Type: 'map<string,double>',
      });
      expect(input.PartitionKeys).toEqual(CAPTURE_PARTITION_KEYS.map((k) => ({ Name: k, Type: 'string' })));
      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toMatch(/ParquetHiveSerDe/);
      expect(input.Parameters['projection.enabled']).toBe('true');
    });

    it('parks rejected entries in a KMS-encrypted, TLS-only queue', () => {
      prod.templates.data.hasResourceProperties('AWS::SQS::Queue', {
        KmsMasterKeyId: Match.anyValue(),
        MessageRetentionPeriod: 14 * 86_400,
      });
      const policies = resourcesOf(prod.templates.data, 'AWS::SQS::QueuePolicy');
      expect(JSON.stringify(policies)).toMatch(/aws:SecureTransport/);
    });

    it('grants the score function PutRecordBatch on the stream and SendMessage on the queue, and no captures table', () => {
      const vars = envOf(prod, 'vigil-score');
      expect(vars[ENV.CAPTURE_PATH]).toBe('firehose');
      expect(vars[ENV.CAPTURE_STREAM]).toBeDefined();
      expect(vars[ENV.CAPTURE_PARKING_QUEUE]).toBeDefined();
      expect(vars[ENV.CAPTURES_TABLE]).toBeUndefined();
      const g = grants(prod, 'api');
      const put = g.filter((s) => s.actions.some((a) => a.startsWith('firehose:')));
      expect(put.map((s) => s.actions)).toEqual([['firehose:PutRecordBatch']]);
      expect(put[0]?.resources).toMatch(/CaptureStreamDeliveryStream/);
      expect(g.filter((s) => s.actions.includes('sqs:SendMessage')).length).toBe(1);
      expect(
        g.some((s) => s.actions.includes('dynamodb:BatchWriteItem') && /Captures/.test(s.resources)),
      ).toBe(false);
    });

    it("lets the stream's role write only the capture and error prefixes", () => {
      const [, role] = resourcesOf(prod.templates.data, 'AWS::IAM::Policy').find(([id]) =>
        id.startsWith('CaptureStreamDeliveryPolicy'),
      ) as [string, CfnProps];
      const put = (role.PolicyDocument.Statement as CfnProps[]).find((s) =>
        [s.Action].flat().includes('s3:PutObject'),
      );
      const text = JSON.stringify(put?.Resource);
      expect(text).toMatch(/\/captures\/\*/);
      expect(text).toMatch(/\/captures-errors\/\*/);
      expect(text).not.toMatch(/models\//);
    });

    it('alarms on lost and parked captures (environment dimension), the parking backlog and delivery freshness', () => {
      prod.templates.observability.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'CapturesLost',
        Threshold: 1,
        Dimensions: Match.arrayWith([
          { Name: 'environment', Value: 'prod' },
          { Name: 'model', Value: 'default' },
        ]),
      });
      prod.templates.observability.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'CapturesParked',
        Threshold: prod.config.capture.parkedAlarm,
        Dimensions: Match.arrayWith([{ Name: 'environment', Value: 'prod' }]),
      });
      prod.templates.observability.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Firehose',
        MetricName: 'DeliveryToS3.DataFreshness',
      });
      prod.templates.observability.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateAgeOfOldestMessage',
        Threshold: 3 * prod.config.capture.drain.visibilitySeconds,
        AlarmDescription: Match.stringLikeRegexp('not drained'),
      });
      prod.templates.observability.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        AlarmDescription: Match.stringLikeRegexp('redrive the dead-letter queue'),
      });
    });

    it('drains the parking queue with a Lambda reporting batch item failures, behind a dead-letter queue', () => {
      const t = prod.templates.data;
      const [[drainId, drain]] = resourcesOf(t, 'AWS::Lambda::Function').filter(
        ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'vigil-capture-drain',
      );
      expect(drain.Environment.Variables[ENV.CAPTURE_PATH]).toBe('firehose');
      expect(drain.Environment.Variables[ENV.CAPTURE_STREAM]).toBeDefined();
      expect(drain.Environment.Variables[ENV.CAPTURE_PARKING_QUEUE]).toBeDefined();
      const [[queueId, queue]] = resourcesOf(t, 'AWS::SQS::Queue').filter(([id]) =>
        id.startsWith('CaptureStreamParkingQueue'),
      );
      t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: drainId },
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: 2 },
      });
      // Visibility ≥ 6 × the drain's timeout; after maxReceiveCount receives, the dead-letter queue.
      expect(queue.VisibilityTimeout).toBe(prod.config.capture.drain.visibilitySeconds);
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * drain.Timeout);
      expect(queue.RedrivePolicy.maxReceiveCount).toBe(prod.config.capture.drain.maxReceiveCount);
      expect(queue.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0]).toMatch(
        /^CaptureStreamParkingDeadLetters/,
      );
    });

    it("grants the drain only the stream's PutRecordBatch and the parking queue", () => {
      const t = prod.templates.data;
      const drainRole = resourcesOf(t, 'AWS::IAM::Policy').filter(([id]) =>
        id.startsWith('CaptureDrainerDrain'),
      );
      const statements = drainRole.flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
      const actions = statements.flatMap((st) => [st.Action].flat() as string[]);
      expect(actions).toContain('firehose:PutRecordBatch');
      expect(actions).toContain('sqs:SendMessage');
      expect(actions).toContain('sqs:DeleteMessage');
      expect(actions.some((a) => a.startsWith('dynamodb:') || a.startsWith('s3:'))).toBe(false);
      for (const st of statements.filter((x) =>
        [x.Action].flat().some((a: string) => a.startsWith('sqs:')),
      )) {
        expect(JSON.stringify(st.Resource)).toMatch(/CaptureStreamParkingQueue/);
      }
    });

    it('reads captures back from the Parquet prefix in the drift evaluator', () => {
      const vars = envOf(prod, 'vigil-drift-evaluate');
      expect(vars[ENV.CAPTURE_PATH]).toBe('firehose');
      expect(vars[ENV.CAPTURES_TABLE]).toBeUndefined();
    });

    it('lets the captures API read the Parquet prefix only: no captures table, no model packages', () => {
      const vars = envOf(prod, 'vigil-captures');
      expect(vars[ENV.CAPTURE_PATH]).toBe('firehose');
      expect(vars[ENV.ARTIFACT_BUCKET]).toBeDefined();
      expect(vars[ENV.CAPTURES_TABLE]).toBeUndefined();
      const { statements, managed } = capturesRole(prod);
      expect(managed).toMatch(/CaptureStreamReadPolicy/);
      expect(managed).not.toMatch(/ArtifactsReadPolicy|RegisterPolicy/);
      // The table's ARN comes from the Data stack's outputs (`…FnGetAttCaptures…Arn…`).
      expect(statements.some((st) => /GetAttCaptures/.test(st.resources))).toBe(false);
      expect(
        statements
          .flatMap((st) => st.actions)
          .filter(
            (a) =>
              !a.startsWith('dynamodb:') &&
              !a.startsWith('kms:') &&
              !a.startsWith('logs:') &&
              !a.startsWith('xray:'),
          ),
      ).toEqual([]);
    });

    it('is cdk-nag clean', () => {
      expect(prod.nagFindings).toEqual([]);
    });
  });

  describe('GIVEN the DynamoDB path (dev, 8 shards)', () => {
    it('tells the writer and the reader the same shard count, and creates no stream', () => {
      expect(envOf(dev, 'vigil-score')[ENV.CAPTURE_SHARDS]).toBe('8');
      expect(envOf(dev, 'vigil-drift-evaluate')[ENV.CAPTURE_SHARDS]).toBe('8');
      expect(envOf(dev, 'vigil-score')[ENV.CAPTURE_PATH]).toBe('dynamodb');
      dev.templates.data.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
      dev.templates.data.resourceCountIs('AWS::Glue::Table', 0);
      expect(grants(dev, 'api').some((s) => s.actions.some((a) => a.startsWith('firehose:')))).toBe(false);
    });

    it('parks given-up rows in a KMS-encrypted, TLS-only queue with a dead-letter queue, both kept 14 days', () => {
      const t = dev.templates.data;
      const queues = resourcesOf(t, 'AWS::SQS::Queue');
      expect(queues.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
        'CaptureTableParkingDeadLetters',
        'CaptureTableParkingQueue',
      ]);
      for (const [, q] of queues) {
        expect(q.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] });
        expect(q.MessageRetentionPeriod).toBe(14 * 86_400);
      }
      const [, queue] = queues.find(([id]) => id.startsWith('CaptureTableParkingQueue')) as [
        string,
        CfnProps,
      ];
      expect(queue.VisibilityTimeout).toBe(dev.config.capture.drain.visibilitySeconds);
      expect(queue.RedrivePolicy.maxReceiveCount).toBe(dev.config.capture.drain.maxReceiveCount);
      expect(queue.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0]).toMatch(
        /^CaptureTableParkingDeadLetters/,
      );
      const policies = resourcesOf(t, 'AWS::SQS::QueuePolicy');
      expect(policies.length).toBe(2);
      for (const [, p] of policies) expect(JSON.stringify(p)).toMatch(/aws:SecureTransport/);
    });

    it('gives the score function the parking queue URL and SendMessage on that queue only', () => {
      const vars = envOf(dev, 'vigil-score');
      expect(JSON.stringify(vars[ENV.CAPTURE_PARKING_QUEUE])).toMatch(/CaptureTableParkingQueue/);
      expect(vars[ENV.CAPTURE_STREAM]).toBeUndefined();
      const sqsGrants = grants(dev, 'api').filter((s) => s.actions.some((a) => a.startsWith('sqs:')));
      expect(sqsGrants.map((s) => s.actions)).toEqual([['sqs:SendMessage']]);
      expect(sqsGrants[0]?.resources).toMatch(/CaptureTableParkingQueue/);
    });

    it('drains the parking queue into the captures table with the writer’s shard count and TTL', () => {
      const t = dev.templates.data;
      const [[drainId, drain]] = resourcesOf(t, 'AWS::Lambda::Function').filter(
        ([, p]) => p.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'vigil-capture-drain',
      );
      const vars = drain.Environment.Variables;
      expect(vars[ENV.CAPTURE_PATH]).toBe('dynamodb');
      expect(vars[ENV.CAPTURE_SHARDS]).toBe('8');
      expect(vars[ENV.CAPTURE_TTL_DAYS]).toBe(String(dev.config.captureTtlDays));
      expect(vars[ENV.CAPTURES_TABLE]).toEqual({ Ref: expect.stringMatching(/^Captures/) });
      expect(JSON.stringify(vars[ENV.CAPTURE_PARKING_QUEUE])).toMatch(/CaptureTableParkingQueue/);
      expect(vars[ENV.CAPTURE_STREAM]).toBeUndefined();
      const [[queueId, queue]] = resourcesOf(t, 'AWS::SQS::Queue').filter(([id]) =>
        id.startsWith('CaptureTableParkingQueue'),
      );
      t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: drainId },
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: 2 },
      });
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * drain.Timeout);
    });

    it('grants the drain PutItem/BatchWriteItem on the captures table, the parking queue and the key, nothing else', () => {
      const t = dev.templates.data;
      const statements = resourcesOf(t, 'AWS::IAM::Policy')
        .filter(([id]) => id.startsWith('CaptureDrainerDrain'))
        .flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
      const byService = (prefix: string) =>
        statements.filter((st) => [st.Action].flat().some((a: string) => a.startsWith(prefix)));
      const ddb = byService('dynamodb:');
      expect(ddb.flatMap((st) => [st.Action].flat()).sort()).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:PutItem',
      ]);
      for (const st of ddb)
        expect(st.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Captures/), 'Arn'] });
      const sqsActions = byService('sqs:').flatMap((st) => [st.Action].flat() as string[]);
      expect(sqsActions).toContain('sqs:SendMessage');
      expect(sqsActions).toContain('sqs:DeleteMessage');
      expect(sqsActions).toContain('sqs:ReceiveMessage');
      for (const st of byService('sqs:'))
        expect(JSON.stringify(st.Resource)).toMatch(/CaptureTableParkingQueue/);
      for (const st of byService('kms:')) expect(JSON.stringify(st.Resource)).toMatch(/DataKey/);
      // Its own log group (logs:) and tracing (xray:) aside.
      const other = statements
        .flatMap((st) => [st.Action].flat() as string[])
        .filter((a) => !/^(dynamodb|sqs|kms|xray|logs):/.test(a));
      expect(other).toEqual([]);
    });

    it('alarms on the parking backlog and on dead letters, and has no delivery-freshness alarm', () => {
      const o = dev.templates.observability;
      o.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateAgeOfOldestMessage',
        Threshold: 3 * dev.config.capture.drain.visibilitySeconds,
        AlarmDescription: Match.stringLikeRegexp('captures table still refuses them'),
      });
      o.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        AlarmDescription: Match.stringLikeRegexp('redrive the dead-letter queue'),
      });
      const alarms = resourcesOf(o, 'AWS::CloudWatch::Alarm').map(([, a]) => JSON.stringify(a));
      expect(alarms.filter((a) => /ApproximateAgeOfOldestMessage/.test(a)).join()).toMatch(
        /CaptureTableParkingQueue/,
      );
      expect(alarms.filter((a) => /ApproximateNumberOfMessagesVisible/.test(a)).join()).toMatch(
        /CaptureTableParkingDeadLetters/,
      );
      expect(alarms.some((a) => /DeliveryToS3/.test(a))).toBe(false);
    });

    it('lets the captures API query the captures table (no Scan, no writes) with the writer’s shard count', () => {
      expect(envOf(dev, 'vigil-captures')[ENV.CAPTURE_SHARDS]).toBe('8');
      expect(envOf(dev, 'vigil-captures')[ENV.CAPTURES_TABLE]).toBeDefined();
      const { statements, managed } = capturesRole(dev);
      const onCaptures = statements.filter(
        (st) => /GetAttCaptures/.test(st.resources) && st.actions.some((a) => a.startsWith('dynamodb:')),
      );
      expect(onCaptures.flatMap((st) => st.actions).sort()).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:Query',
      ]);
      expect(statements.flatMap((st) => st.actions)).not.toContain('dynamodb:Scan');
      expect(managed).not.toMatch(/ReadPolicy|RegisterPolicy/);
    });

    it('is cdk-nag clean', () => {
      expect(dev.nagFindings).toEqual([]);
    });
  });

  it('rejects a Firehose buffer below the 64 MiB Parquet conversion needs', () => {
    expect(() => synthEnv('dev', { capture: { ...prod.config.capture, bufferMb: 32 } } as never)).toThrow(
      /bufferMb/,
    );
  });
});
