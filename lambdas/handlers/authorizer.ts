import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { logger } from '#adapters/observability.ts';
import { FileKeys, SecretsManagerKeys } from '#adapters/secrets.ts';
import { type SecretSource, verifyApiKey } from '#core/auth.ts';

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
      // Fail closed: an unreadable key set authorizes nobody.
      logger.error('API key set unavailable', { error: error as Error });
      return { isAuthorized: false };
    }
  };
}

let source: SecretSource | undefined;
const fromEnv = (): SecretSource => {
  if (!source) {
    const secret = process.env.VIGIL_API_KEYS_SECRET;
    const file = process.env.VIGIL_API_KEYS_FILE;
    if (secret) source = new SecretsManagerKeys(secret);
    else if (file) source = new FileKeys(file);
    else throw new Error('VIGIL_API_KEYS_SECRET (or VIGIL_API_KEYS_FILE locally) is required');
  }
  return source;
};

export const handler = createAuthorizer(fromEnv);
