import { describe, expect, it } from 'vitest';
import { ENV_NAMES, loadConfig } from '../../lib/config.ts';
import { concurrencyNeed, quotaVerdict } from '../../scripts/quota.ts';

describe('pre-deploy concurrency quota check', () => {
  const all = ENV_NAMES.map((e) => loadConfig(e));

  it('adds every reservation, unreserved provisioned concurrency and the 100 Lambda keeps', () => {
    // dev: none, staging: 50 (holds its provisioned 1), prod: 200 (holds its provisioned 5).
    expect(concurrencyNeed(all)).toEqual({
      reserved: { dev: 0, staging: 50, prod: 200 },
      unreservedProvisioned: 0,
      minimumLimit: 350,
    });
  });

  it('counts provisioned concurrency against the pool when no reservation holds it', () => {
    const base = loadConfig('prod');
    const c = loadConfig('prod', { lambda: { ...base.lambda, scoreReservedConcurrency: undefined } });
    expect(concurrencyNeed([c]).minimumLimit).toBe(base.lambda.scoreProvisionedConcurrency + 100);
  });

  it("fails a new account's default limit with the exact quota request to file", () => {
    const v = quotaVerdict(concurrencyNeed(all), 10, 'eu-west-1');
    expect(v.ok).toBe(false);
    expect(v.message).toContain(
      'aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 350 --region eu-west-1',
    );
  });

  it('passes a limit that fits, and dev alone fits any account', () => {
    expect(quotaVerdict(concurrencyNeed(all), 1000).ok).toBe(true);
    expect(quotaVerdict(concurrencyNeed([loadConfig('dev')]), 100).ok).toBe(true);
  });

  it('refuses provisioned concurrency above its reservation', () => {
    const base = loadConfig('prod');
    const c = loadConfig('prod', { lambda: { ...base.lambda, scoreReservedConcurrency: 2 } });
    expect(() => concurrencyNeed([c])).toThrow(/exceeds the reserved 2/);
  });
});
