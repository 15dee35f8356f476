import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { CAPTURE_REQUEST_INDEX, ENV, HANDLERS } from '#contracts';
import { ModelFunction } from '../../lib/constructs/model-function.ts';
import { type CfnProps, resourcesOf, type SynthesizedEnv, synthEnv, vigilFunctions } from './harness.ts';

/** GIVEN a table and a function in a fresh stack. */
function fixture() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'S');
  const table = new dynamodb.Table(stack, 'Captures', {
    partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'SK', type: dynamodb.AttributeType.STRING },
  });
  const fn = new ModelFunction(stack, 'Feedback', {
    entry: HANDLERS.health,
    serviceName: 'vigil-feedback',
    environmentName: 'test',
    logRetention: logs.RetentionDays.ONE_WEEK,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  return { stack, table, fn };
}

const tableArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Captures'), 'Arn'] };

describe('ModelFunction grants for feedback', () => {
  it("'record' access: reads, single puts and queries of the table; no updates, batches or scans", () => {
    const { stack, table, fn } = fixture();
    // WHEN
    fn.bindTable({ table, envVar: ENV.FEEDBACK_TABLE, accessMode: 'record' });
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
            Effect: 'Allow',
            Resource: tableArn,
          },
        ]),
      },
    });
  });

  it('bindIndexQuery: Query on that one index, nothing on the table', () => {
    const { stack, table, fn } = fixture();
    // WHEN
    fn.bindIndexQuery({ table, indexName: CAPTURE_REQUEST_INDEX.name });
    // THEN
    const [[, policy]] = resourcesOf(Template.fromStack(stack), 'AWS::IAM::Policy');
    const statements = policy.PolicyDocument.Statement as CfnProps[];
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo).toEqual([
      {
        Action: 'dynamodb:Query',
        Effect: 'Allow',
        Resource: {
          'Fn::Join': [
            '',
            [{ 'Fn::GetAtt': [expect.stringMatching(/^Captures/), 'Arn'] }, '/index/ByRequest'],
          ],
        },
      },
    ]);
  });
});

/** The inline policy statements of the function whose service is `service`, with the resource each names. */
function statementsOf(env: SynthesizedEnv, stack: 'api' | 'pipeline', service: string) {
  const t = env.templates[stack];
  const [, fn] =
    vigilFunctions(t).find(([, p]) => p.Environment.Variables.POWERTOOLS_SERVICE_NAME === service) ?? [];
  if (!fn) throw new Error(`no function ${service}`);
  const roleId = fn.Role['Fn::GetAtt'][0] as string;
  const policies = resourcesOf(t, 'AWS::IAM::Policy').filter(([, p]) =>
    (p.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
  );
  const role = resourcesOf(t, 'AWS::IAM::Role').find(([id]) => id === roleId)?.[1];
  const statements = policies.flatMap(([, p]) => p.PolicyDocument.Statement as CfnProps[]);
  return { statements, managed: (role?.ManagedPolicyArns ?? []) as unknown[] };
}

/** Which table (by its logical id's prefix in the Data stack's export) a resource names. */
const tableOf = (resource: unknown): string => {
  const text = JSON.stringify(resource);
  const m = /(Registry|Captures|Feedback|DriftReports)[A-F0-9]{8}/.exec(text);
  return m ? `${m[1]}${text.includes('/index/') ? '/index' : ''}` : text;
};

describe.each(['dev', 'prod'] as const)('feedback function IAM in %s', (name) => {
  const env = synthEnv(name);

  it('may read and put labels, read the registry, and read captures where they are; nothing else of DynamoDB', () => {
    const { statements, managed } = statementsOf(env, 'api', 'vigil-feedback');
    const dynamo = statements
      .filter((s) => JSON.stringify(s.Action).includes('dynamodb:'))
      .map((s) => [tableOf(s.Resource), [s.Action].flat().sort()]);
    const read = ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'];
    const expected: [string, string[]][] = [
      ['Feedback', ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']],
      ['Registry', read],
    ];
    if (env.config.capture.path === 'dynamodb') {
      expected.push(['Captures', read], ['Captures/index', ['dynamodb:Query']]);
      expect(managed).toEqual([]);
    } else {
      // The Parquet objects under captures/, through the capture stream's read policy.
      expect(managed).toHaveLength(1);
    }
    expect(dynamo).toEqual(expected);
    expect(JSON.stringify(statements)).not.toMatch(/dynamodb:(Scan|UpdateItem|BatchWriteItem|DeleteItem)/);
  });

  it('gives PrepareData read access to the labels, and no retraining step write access to them', () => {
    const prepare = statementsOf(env, 'pipeline', 'vigil-retrain-prepare-data').statements;
    expect(prepare.filter((s) => tableOf(s.Resource) === 'Feedback').map((s) => s.Action)).toEqual([
      ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
    ]);
    const writes = resourcesOf(env.templates.pipeline, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (p.PolicyDocument.Statement as CfnProps[]).filter(
        (s) => tableOf(s.Resource) === 'Feedback' && JSON.stringify(s.Action).includes('Put'),
      ),
    );
    expect(writes).toEqual([]);
  });
});
