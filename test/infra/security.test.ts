import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES } from '../../lib/config.ts';
import { resourcesOf, type SynthesizedEnv, synthEnv, vigilFunctions } from './harness.ts';

const envs = Object.fromEntries(ENV_NAMES.map((name) => [name, synthEnv(name)])) as Record<
  (typeof ENV_NAMES)[number],
  SynthesizedEnv
>;

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Every Allow statement attached to a Vigil function role or the pod role, with its policy id. */
const dataStatements = (env: SynthesizedEnv): [string, Statement][] => {
  const out: [string, Statement][] = [];
  for (const [stackName, template] of Object.entries(env.templates)) {
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
      for (const [id, p] of resourcesOf(template, type)) {
        for (const s of p.PolicyDocument.Statement as Statement[]) {
          if (s.Effect === 'Allow') out.push([`${stackName}/${id}`, s]);
        }
      }
    }
  }
  return out;
};

describe.each(ENV_NAMES)('least privilege in %s', (name) => {
  const env = envs[name];

  it('grants no wildcard actions on DynamoDB, S3, KMS or Secrets Manager', () => {
    const wildcards = dataStatements(env).flatMap(([id, s]) =>
      actionsOf(s)
        .filter((a) => /^(dynamodb|s3|kms|secretsmanager):/.test(a) && a.includes('*'))
        .map((a) => `${id}: ${a}`),
    );
    expect(wildcards).toEqual([]);
  });

  it('never lets a function scan a table', () => {
    const scans = dataStatements(env).filter(([, s]) => actionsOf(s).includes('dynamodb:Scan'));
    expect(scans).toEqual([]);
  });

  it('grants Vigil function roles no AWS managed policies', () => {
    for (const template of [env.templates.api, env.templates.drift]) {
      const roleIds = vigilFunctions(template).map(([, p]) => p.Role['Fn::GetAtt'][0] as string);
      const roles = new Map(resourcesOf(template, 'AWS::IAM::Role'));
      for (const roleId of roleIds) {
        const managed = JSON.stringify(roles.get(roleId)?.ManagedPolicyArns ?? []);
        expect(managed).not.toContain(':iam::aws:policy/');
      }
    }
  });

  it('has zero unacknowledged cdk-nag AwsSolutions findings in any stack', () => {
    expect(env.nagFindings).toEqual([]);
  });

  it('scopes every cdk-nag acknowledgement to a resource below stack level and gives a reason', () => {
    const acks: { path: string; id: string; reason: string }[] = [];
    const visit = (node: IConstruct) => {
      for (const entry of node.node.metadata) {
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
            // Only cdk-nag rules; aws-eks-v2 itself acknowledges a CloudFormation-Validate warning.
            const id = key.replace(/^annotation::/i, '');
            if (id.startsWith('AwsSolutions-')) acks.push({ path: node.node.path, id, reason });
          }
        }
      }
      for (const child of node.node.children) visit(child);
    };
    visit(env.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.path.split('/').length, `${ack.id} on ${ack.path} is not on one resource`).toBeGreaterThan(
        1,
      );
      expect(ack.reason.length, `${ack.id} on ${ack.path}`).toBeGreaterThan(20);
    }
  });
});

describe('cdk-nag harness', () => {
  it('reports findings on a non-compliant stack, so an empty list means something', () => {
    const app = new App();
    const stack = new Stack(app, 'Bad');
    new s3.Bucket(stack, 'Open', { enforceSSL: false });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']),
    );
  });

  it('drops a finding once it is acknowledged on that resource', () => {
    const app = new App();
    const stack = new Stack(app, 'Acked');
    const bucket = new s3.Bucket(stack, 'Logs', { enforceSSL: true });
    Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'test: access-log bucket' });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).not.toContain('AwsSolutions-S1');
  });
});
