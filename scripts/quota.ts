import type { VigilConfig } from '../lib/config.ts';

/** Service Quotas code of "Concurrent executions" (Lambda, per account and region). */
export const LAMBDA_CONCURRENCY_QUOTA_CODE = 'L-B99A9384';
/** Lambda always keeps this much of the account's concurrency unreserved. */
export const LAMBDA_MIN_UNRESERVED = 100;

/** What the environments to deploy take from one account's Lambda concurrency. */
export interface ConcurrencyNeed {
  /** Reserved concurrency per environment (0 where none is set). */
  readonly reserved: Readonly<Record<string, number>>;
  /** Provisioned concurrency outside any reservation (it then comes from the unreserved pool). */
  readonly unreservedProvisioned: number;
  /** The smallest account limit that fits: reservations + unreserved provisioned + Lambda's 100. */
  readonly minimumLimit: number;
}

/**
 * Concurrency the given environments need when they share one account and region. A reservation
 * holds its provisioned concurrency; provisioned concurrency without one draws from the unreserved
 * pool, which Lambda never lets fall below {@link LAMBDA_MIN_UNRESERVED}.
 */
export const concurrencyNeed = (configs: readonly VigilConfig[]): ConcurrencyNeed => {
  const reserved: Record<string, number> = {};
  let unreservedProvisioned = 0;
  for (const c of configs) {
    const r = c.lambda.scoreReservedConcurrency;
    const pc = c.lambda.scoreProvisionedConcurrency;
    if (r !== undefined && pc > r) {
      throw new Error(`${c.envName}: provisioned concurrency ${pc} exceeds the reserved ${r}`);
    }
    reserved[c.envName] = r ?? 0;
    if (r === undefined) unreservedProvisioned += pc;
  }
  const total = Object.values(reserved).reduce((a, b) => a + b, 0);
  return {
    reserved,
    unreservedProvisioned,
    minimumLimit: total + unreservedProvisioned + LAMBDA_MIN_UNRESERVED,
  };
};

/** The verdict for an account limit, with the request to file when it is too small. */
export const quotaVerdict = (
  need: ConcurrencyNeed,
  accountLimit: number,
  region = '<region>',
): { readonly ok: boolean; readonly message: string } => {
  const parts = Object.entries(need.reserved)
    .map(([env, n]) => `${env} ${n}`)
    .join(', ');
  const detail = `reserved ${parts}; unreserved provisioned ${need.unreservedProvisioned}; Lambda keeps ${LAMBDA_MIN_UNRESERVED} unreserved`;
  if (accountLimit >= need.minimumLimit) {
    return {
      ok: true,
      message: `Lambda concurrency: limit ${accountLimit} >= needed ${need.minimumLimit} (${detail}).`,
    };
  }
  return {
    ok: false,
    message:
      `Lambda concurrency: limit ${accountLimit} < needed ${need.minimumLimit} (${detail}). Either lower or unset ` +
      '`lambda.scoreReservedConcurrency` in lib/config.ts, or ask for the quota:\n' +
      `  aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${LAMBDA_CONCURRENCY_QUOTA_CODE} --desired-value ${need.minimumLimit} --region ${region}`,
  };
};
