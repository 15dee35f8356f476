import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { type SecretSource, verifyApiKey } from '#core/auth.ts';
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
      // Fail closed: an unreadable key set (or a missing key configuration) authorizes nobody.
      log().error('API key set unavailable', { error });
      return { isAuthorized: false };
    }
  };
}

/** Lambda entry point (`HANDLERS.authorizer`): keys from the secret, or the twin's key file. */
export const handler = lambdaHandler(createAuthorizer(apiKeys, log));
