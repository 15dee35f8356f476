import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ENV, HANDLERS, ROUTES, STAGING_PREFIX } from '#contracts';
import { ArtifactBucket } from '../../lib/constructs/artifact-bucket.ts';
import { ModelFunction } from '../../lib/constructs/model-function.ts';
import { type CfnProps, resourcesOf, synthEnv, vigilFunctions } from './harness.ts';

const ITEM_WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'];

/** GIVEN a bucket and a function in a fresh stack. */
function fixture() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'S');
  const key = new kms.Key(stack, 'Key');
  const bucket = new ArtifactBucket(stack, 'Artifacts', {
    encryptionKey: key,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const table = new dynamodb.Table(stack, 'Registry', {
    partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'SK', type: dynamodb.AttributeType.STRING },
  });
  const fn = new ModelFunction(stack, 'Models', {
    entry: HANDLERS.health,
    serviceName: 'vigil-models',
    environmentName: 'test',
    logRetention: logs.RetentionDays.ONE_WEEK,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  return { stack, bucket, table, fn };
}

describe('registry write access (models function)', () => {
  it('register policy: PutObject under models/, PutObject+GetObject under staging/, KMS for SSE-KMS, nothing else', () => {
    const { stack, bucket, fn } = fixture();
    // WHEN
    fn.bindBucket({ bucket, envVar: ENV.ARTIFACT_BUCKET, access: 'register' });
    // THEN
    const t = Template.fromStack(stack);
    const bucketArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^ArtifactsBucket'), 'Arn'] };
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('^Register model packages'),
      PolicyDocument: {
        Statement: [
          {
            Action: 's3:PutObject',
            Effect: 'Allow',
            Resource: { 'Fn::Join': ['', [bucketArn, '/models/*']] },
          },
          {
            Action: ['s3:PutObject', 's3:GetObject'],
            Effect: 'Allow',
            Resource: { 'Fn::Join': ['', [bucketArn, `/${STAGING_PREFIX}*`]] },
          },
          {
            Action: ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
          },
        ],
      },
    });
    const role = resourcesOf(t, 'AWS::IAM::Role').find(([id]) => id.startsWith('ModelsRole'))?.[1];
    expect(JSON.stringify(role?.ManagedPolicyArns)).toMatch(/ArtifactsRegisterPolicy/);
    expect(JSON.stringify(role?.ManagedPolicyArns)).not.toMatch(/ArtifactsReadPolicy/);
  });

  it('a read binding attaches the read policy only', () => {
    const { stack, bucket, fn } = fixture();
    fn.bindBucket({ bucket, envVar: ENV.ARTIFACT_BUCKET });
    const role = resourcesOf(Template.fromStack(stack), 'AWS::IAM::Role').find(([id]) =>
      id.startsWith('ModelsRole'),
    )?.[1];
    expect(JSON.stringify(role?.ManagedPolicyArns)).toMatch(/ArtifactsReadPolicy/);
    expect(JSON.stringify(role?.ManagedPolicyArns)).not.toMatch(/RegisterPolicy/);
  });

  it('expires staged uploads after a day', () => {
    const { stack } = fixture();
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: STAGING_PREFIX, ExpirationInDays: 1, Status: 'Enabled' }),
        ]),
      },
    });
  });

  describe('in the synthesized dev stack', () => {
    const { templates } = synthEnv('dev');
    const fns = vigilFunctions(templates.api);
    const roleOf = (service: string) => {
      const fn = fns.find(([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === service)?.[1];
      return fn?.Role['Fn::GetAtt'][0] as string;
    };
    const statementsOf = (roleId: string): CfnProps[] =>
      resourcesOf(templates.api, 'AWS::IAM::Policy')
        .filter(([, p]) => p.Roles.some((r: CfnProps) => r.Ref === roleId))
        .flatMap(([, p]) => p.PolicyDocument.Statement);
    const actions = (s: CfnProps): string[] => [s.Action].flat();

    it('gives the models function item-level reads and writes on the registry table, no Scan, no index', () => {
      const registry = statementsOf(roleOf('vigil-models')).filter((s) =>
        actions(s).some((a) => a.startsWith('dynamodb:')),
      );
      expect(registry).toHaveLength(1);
      expect(actions(registry[0] as CfnProps).sort()).toEqual(
        [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ].sort(),
      );
      expect(JSON.stringify(registry[0]?.Resource)).toMatch(/Registry/);
      expect(JSON.stringify(registry[0]?.Resource)).not.toMatch(/index/);
    });

    it('gives no other API function write access to the registry or the register policy', () => {
      for (const [, p] of fns) {
        const service = p.Environment.Variables.POWERTOOLS_SERVICE_NAME as string;
        if (service === 'vigil-models') continue;
        const role = p.Role['Fn::GetAtt'][0] as string;
        // The releases API writes only its release record (a conditional put beside the
        // registry's items, the one-release lock); it never gets the register policy.
        const writes = statementsOf(role).filter(
          (s) =>
            actions(s).some((a) => ITEM_WRITES.includes(a)) && JSON.stringify(s.Resource).match(/Registry/),
        );
        if (service !== 'vigil-releases') expect(writes, service).toEqual([]);
        const managed = JSON.stringify(
          resourcesOf(templates.api, 'AWS::IAM::Role').find(([id]) => id === role)?.[1].ManagedPolicyArns ??
            [],
        );
        expect(managed, service).not.toMatch(/RegisterPolicy/);
      }
      const modelsRole = resourcesOf(templates.api, 'AWS::IAM::Role').find(
        ([id]) => id === roleOf('vigil-models'),
      );
      expect(JSON.stringify(modelsRole?.[1].ManagedPolicyArns)).toMatch(/RegisterPolicy/);
    });

    it('builds an API Gateway route for every ROUTES entry, PUT and DELETE included, admin ones behind the authorizer', () => {
      const routes = resourcesOf(templates.api, 'AWS::ApiGatewayV2::Route').map(([, p]) => p);
      for (const r of ROUTES) {
        const route = routes.find((p) => p.RouteKey === `${r.method} ${r.path}`);
        expect(route, `${r.method} ${r.path}`).toBeDefined();
        expect(route?.AuthorizationType, `${r.method} ${r.path}`).toBe(
          r.auth === 'public' ? 'NONE' : 'CUSTOM',
        );
      }
      expect(routes).toHaveLength(ROUTES.length);
      expect(routes.map((p) => p.RouteKey)).toEqual(
        expect.arrayContaining([
          'PUT /v1/models/{model}/aliases/{alias}',
          'DELETE /v1/models/{model}/aliases/{alias}',
        ]),
      );
    });
  });
});
