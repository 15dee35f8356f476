/**
 * `npm run check:quotas -- [--envs dev,staging,prod] [--limit N] [--region R]`: pre-deploy check that
 * the account's Lambda concurrency fits the reservations of the environments about to share it.
 *
 * With `--limit N` it runs offline (a dry run against a limit you state, e.g. the value from
 * `aws service-quotas get-service-quota --service-code lambda --quota-code L-B99A9384`); without it,
 * it reads the account's limit with Lambda's GetAccountSettings (deploy credentials). Exits 1 and
 * prints the quota request to file when the limit is too small.
 */
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ENV_NAMES, loadConfig } from '../lib/config.ts';
import { concurrencyNeed, quotaVerdict } from './quota.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const envs = (arg('envs') ?? ENV_NAMES.join(',')).split(',').filter(Boolean);
const need = concurrencyNeed(envs.map((e) => loadConfig(e)));
const region = arg('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
let limit: number;
const given = arg('limit');
if (given !== undefined) {
  limit = Number(given);
  if (!Number.isInteger(limit) || limit < 0) {
    console.error(`--limit must be a non-negative integer (got ${given})`);
    process.exit(2);
  }
} else {
  try {
    const settings = await new LambdaClient(region ? { region } : {}).send(new GetAccountSettingsCommand({}));
    limit = settings.AccountLimit?.ConcurrentExecutions ?? 0;
    const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions;
    console.log(
      `account limit ${limit}, currently unreserved ${unreserved} (other functions' reservations count too)`,
    );
  } catch (error) {
    console.error(
      `Could not read the account's Lambda settings (${(error as Error).message}). ` +
        'Run with deploy credentials, or offline with --limit N.',
    );
    process.exit(2);
  }
}
const verdict = quotaVerdict(need, limit, region);
console.log(verdict.message);
process.exit(verdict.ok ? 0 : 1);
