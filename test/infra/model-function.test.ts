import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ModelFunction } from '../../lib/constructs/model-function.ts';
import { resourcesOf, testApp } from './harness.ts';

const STUB = 'test/infra/fixtures/stub-handler.ts';
const props = {
  serviceName: 'vigil-test',
  logRetention: logs.RetentionDays.ONE_WEEK,
  logRemovalPolicy: RemovalPolicy.DESTROY,
  environmentName: 'dev',
};

const build = (accessMode: 'read' | 'write') => {
  const stack = new Stack(testApp(), 'T');
  const key = new kms.Key(stack, 'Key');
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'PK', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
  });
  new ModelFunction(stack, 'Fn', { ...props, entry: STUB }).bindTable({ table, envVar: 'TABLE', accessMode });
  const t = Template.fromStack(stack);
  const actions = resourcesOf(t, 'AWS::IAM::Policy').flatMap(([, p]) =>
    (p.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((s) => s.Action),
  );
  return { t, actions };
};

describe('ModelFunction', () => {
  it('refuses a missing entry file with a message that names it', () => {
    const stack = new Stack(testApp(), 'T');
    expect(() => new ModelFunction(stack, 'Fn', { ...props, entry: 'lambdas/handlers/nope.ts' })).toThrow(
      /handler entry lambdas\/handlers\/nope\.ts does not exist/,
    );
  });

  it('binds a table for reading: env var set, read actions and KMS decrypt only', () => {
    const { t, actions } = build('read');
    const [[tableId]] = resourcesOf(t, 'AWS::DynamoDB::Table');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { TABLE: { Ref: tableId } } },
    });
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'kms:Decrypt']));
    expect(
      actions.filter((a) => /^(dynamodb|kms):.*(Put|Update|Delete|Write|Encrypt|GenerateDataKey)/.test(a)),
    ).toEqual([]);
  });

  it('binds a table for writing: put/update and KMS encrypt, but no reads beyond DescribeTable', () => {
    const { actions } = build('write');
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'kms:GenerateDataKey']),
    );
    expect(actions.filter((a) => /GetItem|Query|Scan/.test(a))).toEqual([]);
  });

  it('uses its own role with no AWS managed policy', () => {
    const { t } = build('read');
    for (const [, role] of resourcesOf(t, 'AWS::IAM::Role')) expect(role.ManagedPolicyArns).toBeUndefined();
  });
});
