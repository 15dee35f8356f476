import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ApiKeySet, ApiKeySetSchema, type SecretSource } from '#core/auth.ts';

/**
 * Reads the hashed API key set from Secrets Manager, caching it for `ttlMs`
 * so a warm authorizer does not call Secrets Manager per request while a
 * rotation still reaches it within minutes.
 */
export class SecretsManagerKeys implements SecretSource {
  #cache?: { value: ApiKeySet; expires: number };
  constructor(
    private readonly secretId: string,
    private readonly client = new SecretsManagerClient({}),
    private readonly ttlMs = 300_000,
  ) {}

  async apiKeys(): Promise<ApiKeySet> {
    if (this.#cache && this.#cache.expires > Date.now()) return this.#cache.value;
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
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
