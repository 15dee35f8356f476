import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { resourcesOf, synthEnv } from './harness.ts';

const envs = { dev: synthEnv('dev'), prod: synthEnv('prod') };

describe('Data stack', () => {
  const t = envs.prod.templates.data;

  it('creates four tables keyed by string PK/SK, mirroring lambdas/adapters/tables.ts', () => {
    const tables = resourcesOf(t, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(4);
    for (const [, p] of tables) {
      expect(p.KeySchema).toEqual([
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ]);
      expect(p.AttributeDefinitions).toEqual([
        { AttributeName: 'PK', AttributeType: 'S' },
        { AttributeName: 'SK', AttributeType: 'S' },
      ]);
      expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    }
  });

  it('expires captures through the ttl attribute and keeps registry and drift reports forever', () => {
    const ttl = resourcesOf(t, 'AWS::DynamoDB::Table').map(([id, p]) => [
      id.replace(/[A-F0-9]{8}$/, ''),
      p.TimeToLiveSpecification,
    ]);
    expect(Object.fromEntries(ttl)).toEqual({
      Registry: undefined,
      Captures: { AttributeName: 'ttl', Enabled: true },
      DriftReports: undefined,
      Feedback: undefined,
    });
    expect(ttl.map(([id]) => id).sort()).toEqual(['Captures', 'DriftReports', 'Feedback', 'Registry']);
  });

  it('indexes captures by request id on the DynamoDB capture path only, projecting just what a label needs', () => {
    const captures = (env: 'dev' | 'prod') =>
      resourcesOf(envs[env].templates.data, 'AWS::DynamoDB::Table').find(([id]) =>
        id.startsWith('Captures'),
      )?.[1];
    expect(envs.dev.config.capture.path).toBe('dynamodb');
    expect(captures('dev')?.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'ByRequest',
        KeySchema: [{ AttributeName: 'requestId', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['model', 'version', 'index', 'at'] },
      },
    ]);
    expect(captures('dev')?.AttributeDefinitions).toContainEqual({
      AttributeName: 'requestId',
      AttributeType: 'S',
    });
    // prod captures through Firehose: nothing writes the table, so no index to pay for.
    expect(envs.prod.config.capture.path).toBe('firehose');
    expect(captures('prod')?.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('encrypts every table with the customer-managed key', () => {
    const [[keyId]] = resourcesOf(t, 'AWS::KMS::Key');
    for (const [, p] of resourcesOf(t, 'AWS::DynamoDB::Table')) {
      expect(p.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    }
  });

  it('rotates the data key', () => {
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('turns point-in-time recovery on in prod', () => {
    for (const [, p] of resourcesOf(t, 'AWS::DynamoDB::Table')) {
      expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('leaves point-in-time recovery off in dev', () => {
    for (const [, p] of resourcesOf(envs.dev.templates.data, 'AWS::DynamoDB::Table')) {
      expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
    }
  });

  it('retains tables in prod and deletes them in dev', () => {
    for (const r of Object.values(t.findResources('AWS::DynamoDB::Table')))
      expect(r.DeletionPolicy).toBe('Retain');
    for (const r of Object.values(envs.dev.templates.data.findResources('AWS::DynamoDB::Table'))) {
      expect(r.DeletionPolicy).toBe('Delete');
    }
  });

  it('blocks public access, versions and KMS-encrypts the artifact bucket, logging to the access-log bucket', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'artifacts/' },
    });
  });

  it('denies non-TLS requests on both buckets', () => {
    const policies = resourcesOf(t, 'AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(2);
    for (const [, p] of policies) {
      expect(p.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('limits the artifact read policy to GetObject under models/ and a prefix-scoped ListBucket', () => {
    const [[, policy]] = resourcesOf(t, 'AWS::IAM::ManagedPolicy');
    const statements = policy.PolicyDocument.Statement as {
      Action: string;
      Resource: unknown;
      Condition?: unknown;
    }[];
    expect(statements.map((s) => s.Action)).toEqual(['s3:GetObject', 's3:ListBucket', 'kms:Decrypt']);
    expect(JSON.stringify(statements[0].Resource)).toContain('/models/*');
    expect(statements[1].Condition).toEqual({ StringLike: { 's3:prefix': ['models/*'] } });
  });

  it('encrypts the API key secret with the data key', () => {
    const [[keyId]] = resourcesOf(t, 'AWS::KMS::Key');
    t.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
  });
});
