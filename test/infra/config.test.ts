import { describe, expect, it } from 'vitest';
import { driftConfigForModel } from '#core/drift/config.ts';
import { ENV_NAMES, loadConfig } from '../../lib/config.ts';

describe('loadConfig', () => {
  it('parses every environment', () => {
    for (const name of ENV_NAMES) expect(loadConfig(name).envName).toBe(name);
  });

  it('defaults to dev when no -c env is given', () => {
    expect(loadConfig(undefined).envName).toBe('dev');
  });

  it('rejects an unknown environment with a message listing the valid ones', () => {
    expect(() => loadConfig('production')).toThrow(/Unknown environment "production".*dev, staging, prod/);
  });

  it('rejects an inverted anomaly-rate band', () => {
    const alarms = { ...loadConfig('prod').alarms, anomalyRateLow: 0.5, anomalyRateHigh: 0.1 };
    expect(() => loadConfig('prod', { alarms })).toThrow(/anomalyRateLow must be below anomalyRateHigh/);
  });

  it('rejects a log retention CloudFormation would refuse', () => {
    expect(() => loadConfig('dev', { logRetentionDays: 10 })).toThrow(/logRetentionDays/);
  });

  it('rejects a malformed alarm e-mail and accepts a valid one', () => {
    expect(() => loadConfig('dev', { alarmEmail: 'not-an-email' })).toThrow(/alarmEmail/);
    expect(loadConfig('dev', { alarmEmail: 'ops@example.com' }).alarmEmail).toBe('ops@example.com');
  });

  it('keeps prod stricter than dev where it matters', () => {
    const dev = loadConfig('dev');
    const prod = loadConfig('prod');
    expect(prod.pointInTimeRecovery).toBe(true);
    expect(dev.pointInTimeRecovery).toBe(false);
    expect(prod.removalPolicy).toBe('retain');
    expect(prod.lambda.scoreProvisionedConcurrency).toBeGreaterThan(0);
    expect(prod.canary).not.toBe('ALL_AT_ONCE');
  });

  it('ships drift settings the evaluator accepts for every scheduled model', () => {
    for (const name of ENV_NAMES) {
      const c = loadConfig(name);
      for (const model of c.drift.models)
        expect(() => driftConfigForModel(c.drift.settings, model)).not.toThrow();
    }
  });

  it('refuses drift settings the evaluator would refuse', () => {
    const drift = { ...loadConfig('dev').drift, settings: { default: { minVotes: 9 } } };
    const c = loadConfig('dev', { drift });
    expect(() => driftConfigForModel(c.drift.settings, 'default')).toThrow(/minVotes/);
  });
});
