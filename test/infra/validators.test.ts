import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { acknowledgeGuardFindings } from '../../lib/guard-acknowledgements.ts';
import { testApp } from './harness.ts';

/** Synthesizes one small stack through the CfnGuard policy plugin; the error text lists open findings. */
const guardFindings = (build: (stack: Stack) => void): string => {
  const app = testApp();
  const stack = new Stack(app, 'T');
  build(stack);
  Validations.of(app).addPlugins(new CfnGuardValidator());
  try {
    app.synth();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

const shortLogGroup = (stack: Stack) =>
  new logs.LogGroup(stack, 'Logs', {
    retention: logs.RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  });

describe('CfnGuard policy validation (offline, bundled cfn-guard)', () => {
  it('runs here and reports a Control Tower finding', () => {
    const report = guardFindings(shortLogGroup);
    expect(report).toContain('cloudwatch_log_group_retention_period_check');
  });

  it("is clean once Vigil's reasoned acknowledgements are recorded on that resource", () => {
    const report = guardFindings((stack) => {
      shortLogGroup(stack);
      acknowledgeGuardFindings([stack], loadConfig('dev'));
    });
    expect(report).toBe('');
  });
});
