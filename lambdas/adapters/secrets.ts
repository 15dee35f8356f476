import { readFile } from 'node:fs/promises';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ApiKeySet, ApiKeySetSchema, CachedKeySource, type KeyCacheOptions } from '#core/auth.ts';

/**
 * How long a warm authorizer keeps the key set before reading the secret again, and how long
 * it keeps serving the last good set while Secrets Manager fails. With API Gateway's authorizer
 * result cache (lib/config.ts `authorizerCacheSeconds`) these bound how long a revoked key
 * still works: `revocationBoundSeconds` in core/auth.ts, README "Revoking a key".
 */
export const SECRET_CACHE_SECONDS = 60;
export const SECRET_MAX_STALE_SECONDS = 600;

/**
 * Reads the hashed API key set from Secrets Manager, cached (`SECRET_CACHE_SECONDS`).
 * @param client @default a `SecretsManagerClient`, created (and its SDK module imported) on first read
 */
export class SecretsManagerKeys extends CachedKeySource {
  constructor(
    secretId: string,
    client?: Pick<SecretsManagerClient, 'send'>,
    opts: Partial<KeyCacheOptions> = {},
  ) {
    let sm = client;
    super(
      async () => {
        // Imported here, not at module scope: processes that never read the secret never load the SDK module.
        const sdk = await import('@aws-sdk/client-secrets-manager');
        sm ??= new sdk.SecretsManagerClient({});
        const out = await sm.send(new sdk.GetSecretValueCommand({ SecretId: secretId }));
        return ApiKeySetSchema.parse(JSON.parse(out.SecretString ?? '{"keys":[]}'));
      },
      { ttlMs: SECRET_CACHE_SECONDS * 1000, maxStaleMs: SECRET_MAX_STALE_SECONDS * 1000, ...opts },
    );
  }
}

/**
 * The local twin's key file (`.vigil/api-keys.json`): the same hashed format as the secret,
 * read per request (a rotation shows at once). `vigil keys create --local` replaces the file
 * atomically; should a read still fail (a hand edit half saved), the last good set is kept.
 */
export class FileKeys extends CachedKeySource {
  constructor(path: string, opts: Partial<KeyCacheOptions> = {}) {
    super(async (): Promise<ApiKeySet> => ApiKeySetSchema.parse(JSON.parse(await readFile(path, 'utf8'))), {
      ttlMs: 0,
      maxStaleMs: Number.POSITIVE_INFINITY,
      ...opts,
    });
  }
}
