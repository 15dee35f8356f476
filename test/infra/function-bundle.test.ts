import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ModelFunction } from '../../lib/constructs/model-function.ts';
import { resourcesOf } from './harness.ts';

/**
 * The bundles CDK really builds (bundling on, unlike the other infra tests): the AWS SDK inside
 * the bundle rather than left to the runtime's copy (see `BUNDLE`), and a source map plus
 * `--enable-source-maps` only where `mappedStackTraces` is not turned off.
 */
describe('function bundles as CDK builds them', () => {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'B');
  const props = {
    entry: 'test/infra/fixtures/sdk-handler.ts',
    logRetention: logs.RetentionDays.ONE_WEEK,
    logRemovalPolicy: RemovalPolicy.DESTROY,
    environmentName: 'dev',
  };
  new ModelFunction(stack, 'Mapped', { ...props, serviceName: 'vigil-mapped' });
  new ModelFunction(stack, 'Plain', { ...props, serviceName: 'vigil-plain', mappedStackTraces: false });
  const template = Template.fromStack(stack);
  const dir = app.synth().directory;
  const asset = (service: string) => {
    const [, fn] = resourcesOf(template, 'AWS::Lambda::Function').find(
      ([, f]) => f.Environment.Variables.POWERTOOLS_SERVICE_NAME === service,
    ) as [string, { Code: { S3Key: string }; Environment: { Variables: Record<string, string> } }];
    const hash = fn.Code.S3Key.replace(/\.zip$/, '');
    const folder = path.join(dir, `asset.${hash}`);
    return { env: fn.Environment.Variables, folder, files: readdirSync(folder) };
  };

  it('bundles the SDK: no import of @aws-sdk is left for the runtime to resolve', () => {
    for (const service of ['vigil-mapped', 'vigil-plain']) {
      const { folder } = asset(service);
      const code = readFileSync(path.join(folder, 'index.mjs'), 'utf8');
      expect(code).toContain('DescribeTable');
      expect(code).not.toMatch(/from\s*["']@aws-sdk\/|import\(\s*["']@aws-sdk\//);
    }
  }, 120_000);

  it('ships a source map and turns it on by default; neither when mappedStackTraces is false', () => {
    const mapped = asset('vigil-mapped');
    expect(mapped.env.NODE_OPTIONS).toBe('--enable-source-maps');
    expect(existsSync(path.join(mapped.folder, 'index.mjs.map'))).toBe(true);
    const plain = asset('vigil-plain');
    expect(plain.env.NODE_OPTIONS).toBeUndefined();
    expect(plain.files.filter((f) => f.endsWith('.map'))).toEqual([]);
  }, 120_000);
});
