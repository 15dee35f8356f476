import { readFile } from 'node:fs/promises';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ApiKeySet, ApiKeySetSchema, type SecretSource } from '#core/auth.ts';

/**
 * Reads the hashed API key set from Secrets Manager, caching it for `ttlMs`
 * so a warm authorizer does not call Secrets Manager per request while a
 * rotation still reaches it within minutes.
 */
export class SecretsManagerKeys implements SecretSource {
  #cache?: { value: ApiKeySet; expires: number };
  #client?: Pick<SecretsManagerClient, 'send'>;
  /** @param client @default a `SecretsManagerClient`, created (and its SDK module imported) on first use */
  constructor(
    private readonly secretId: string,
    client?: Pick<SecretsManagerClient, 'send'>,
    private readonly ttlMs = 300_000,
  ) {
    this.#client = client;
  }

  async apiKeys(): Promise<ApiKeySet> {
    if (this.#cache && this.#cache.expires > Date.now()) return this.#cache.value;
    // Imported here, not at module scope: processes that never read the secret never load the SDK module.
    const sdk = await import('@aws-sdk/client-secrets-manager');
    this.#client ??= new sdk.SecretsManagerClient({});
    const out = await this.#client.send(new sdk.GetSecretValueCommand({ SecretId: this.secretId }));
    const value = ApiKeySetSchema.parse(JSON.parse(out.SecretString ?? '{"keys":[]}'));
    this.#cache = { value, expires: Date.now() + this.ttlMs };
    return value;
  }
}

/** The local twin's key file (`.vigil/api-keys.json`): the same hashed format as the secret. */
export class FileKeys implements SecretSource {
  constructor(private readonly path: string) {}
  async apiKeys(): Promise<ApiKeySet> {
    return ApiKeySetSchema.parse(JSON.parse(await readFile(this.path, 'utf8')));
  }
}
