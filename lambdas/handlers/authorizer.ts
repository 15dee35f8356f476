import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { describeError } from '#adapters/dependency-errors.ts';
import { logger } from '#adapters/observability.ts';
import { FileKeys, SecretsManagerKeys } from '#adapters/secrets.ts';
import { type SecretSource, verifyApiKey } from '#core/auth.ts';
import { DependencyUnavailableError } from '#core/errors.ts';

export interface AuthorizerResult {
  readonly isAuthorized: boolean;
  readonly context?: { readonly keyId: string; readonly scope: string };
}

/**
 * HTTP API Lambda authorizer (REQUEST type, simple responses): the
 * `x-api-key` header must match a hashed key in the key set. Never logs the key.
 */
export function createAuthorizer(source: () => SecretSource) {
  return async (event: Pick<APIGatewayRequestAuthorizerEventV2, 'headers'>): Promise<AuthorizerResult> => {
    const presented = event.headers?.['x-api-key'];
    try {
      const rec = verifyApiKey(presented, await source().apiKeys());
      if (!rec) return { isAuthorized: false };
      return { isAuthorized: true, context: { keyId: rec.id, scope: rec.scope } };
    } catch (error) {
      // Fail closed: with no key set (not even a recent one, see CachedKeySource) nobody is
      // authorized. Thrown, not denied: a valid key must not read "Invalid API key" during an
      // outage. The twin answers 503; API Gateway answers its own 500 for a failed authorizer.
      logger.error('API key set unavailable', { reason: describeError(error) });
      throw new DependencyUnavailableError(describeError(error));
    }
  };
}

let source: SecretSource | undefined;
const fromEnv = (): SecretSource => {
  if (!source) {
    const secret = process.env.VIGIL_API_KEYS_SECRET;
    const file = process.env.VIGIL_API_KEYS_FILE;
    const onStale = (error: unknown, ageMs: number) =>
      logger.warn('API key set read failed; serving the last good set', {
        reason: describeError(error),
        ageSeconds: Math.round(ageMs / 1000),
      });
    if (secret) source = new SecretsManagerKeys(secret, undefined, { onStale });
    else if (file) source = new FileKeys(file, { onStale });
    else throw new Error('VIGIL_API_KEYS_SECRET (or VIGIL_API_KEYS_FILE locally) is required');
  }
  return source;
};

export const handler = createAuthorizer(fromEnv);
