import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { describeError } from '#adapters/dependency-errors.ts';
import { type SecretSource, verifyApiKey } from '#core/auth.ts';
import { DependencyUnavailableError } from '#core/errors.ts';
import type { Logger } from '#core/ports.ts';
import { lambdaHandler } from '#runtime/lambda.ts';
import { apiKeys, log } from '#runtime/root.ts';

export interface AuthorizerResult {
  readonly isAuthorized: boolean;
  readonly context?: { readonly keyId: string; readonly scope: string };
}

/**
 * HTTP API Lambda authorizer (REQUEST type, simple responses): the
 * `x-api-key` header must match a hashed key in the key set. Never logs the key.
 */
export function createAuthorizer(source: () => SecretSource, log: () => Pick<Logger, 'error'>) {
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
      log().error('API key set unavailable', { reason: describeError(error) });
      throw new DependencyUnavailableError(describeError(error));
    }
  };
}

/** Lambda entry point (`HANDLERS.authorizer`): keys from the secret, or the twin's key file. */
export const handler = lambdaHandler(createAuthorizer(apiKeys, log));
