import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
// zod/mini: the authorizer validates only this, and classic zod would be most of its bundle.
import * as z from 'zod/mini';

/**
 * API keys are stored only as SHA-256 hashes (in Secrets Manager, or a local
 * file for the twin). Several keys can be valid at once, which is how
 * rotation works: add the new key, move clients, remove the old one.
 */
export const ApiKeyRecordSchema = z.object({
  id: z.string().check(z.minLength(1)),
  /** hex SHA-256 of the key */
  hash: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  scope: z.enum(['score', 'admin']),
  createdAt: z.string(),
  /** After this instant the key is refused (rotation grace period). */
  expiresAt: z.optional(z.string()),
});
export const ApiKeySetSchema = z.object({ keys: z.array(ApiKeyRecordSchema) });
export type ApiKeyRecord = z.infer<typeof ApiKeyRecordSchema>;
export type ApiKeySet = z.infer<typeof ApiKeySetSchema>;

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A new random key (`vgl_` + 32 random bytes, base64url) and its record. */
export function generateApiKey(
  scope: ApiKeyRecord['scope'],
  now = new Date(),
): { key: string; record: ApiKeyRecord } {
  const key = `vgl_${randomBytes(32).toString('base64url')}`;
  const id = `key-${randomBytes(4).toString('hex')}`;
  return { key, record: { id, hash: hashApiKey(key), scope, createdAt: now.toISOString() } };
}

/**
 * Finds the record matching a presented key (constant-time hash comparison),
 * ignoring expired keys. Returns undefined when none matches.
 */
export function verifyApiKey(
  presented: string | undefined,
  set: ApiKeySet,
  now = new Date(),
): ApiKeyRecord | undefined {
  if (!presented || presented.length > 256) return undefined;
  const h = Buffer.from(hashApiKey(presented), 'hex');
  let found: ApiKeyRecord | undefined;
  for (const rec of set.keys) {
    const match = timingSafeEqual(h, Buffer.from(rec.hash, 'hex'));
    if (match && (!rec.expiresAt || Date.parse(rec.expiresAt) > now.getTime())) found = rec;
  }
  return found;
}

/** Where the key set comes from (Secrets Manager or a local file). */
export interface SecretSource {
  apiKeys(): Promise<ApiKeySet>;
}

/** Options of `CachedKeySource`. */
export interface KeyCacheOptions {
  /** How long a key set read is served without reading again, ms. */
  readonly ttlMs: number;
  /**
   * How long past `ttlMs` the last good set is still served while reads fail (an outage of the
   * source, or a torn local file), ms. Bounds how long a revoked key can outlive its revocation
   * during an outage; afterwards nobody is authorized (fail closed).
   */
  readonly maxStaleMs: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told when a read failed and the last good set was served instead. */
  readonly onStale?: (error: unknown, ageMs: number) => void;
}

/**
 * A `SecretSource` over a loader with a freshness TTL and stale-on-error: a failed read keeps
 * the last good key set (for at most `maxStaleMs` beyond its TTL) instead of locking every
 * valid key out. With no good set at all it throws, and callers fail closed.
 */
export class CachedKeySource implements SecretSource {
  #good?: { value: ApiKeySet; at: number };
  readonly #o: Required<Omit<KeyCacheOptions, 'onStale'>> & Pick<KeyCacheOptions, 'onStale'>;

  constructor(
    private readonly load: () => Promise<ApiKeySet>,
    opts: KeyCacheOptions,
  ) {
    this.#o = { now: Date.now, ...opts };
  }

  async apiKeys(): Promise<ApiKeySet> {
    const now = this.#o.now();
    if (this.#good && now - this.#good.at < this.#o.ttlMs) return this.#good.value;
    try {
      const value = await this.load();
      this.#good = { value, at: now };
      return value;
    } catch (error) {
      const age = this.#good ? now - this.#good.at : Number.POSITIVE_INFINITY;
      if (this.#good && age < this.#o.ttlMs + this.#o.maxStaleMs) {
        this.#o.onStale?.(error, age);
        return this.#good.value;
      }
      throw error;
    }
  }
}

/**
 * The longest a revoked key (removed from the set, or given a past `expiresAt`) can still be
 * accepted in AWS, seconds: API Gateway caches an authorizer *result* per key for
 * `authorizerCacheSeconds`, and a warm authorizer keeps the key set for `secretCacheSeconds`,
 * one after the other. While Secrets Manager is failing, the stale set adds `maxStaleSeconds`.
 */
export function revocationBoundSeconds(c: {
  readonly authorizerCacheSeconds: number;
  readonly secretCacheSeconds: number;
  readonly maxStaleSeconds?: number;
  readonly duringSecretOutage?: boolean;
}): number {
  return (
    c.authorizerCacheSeconds + c.secretCacheSeconds + (c.duringSecretOutage ? (c.maxStaleSeconds ?? 0) : 0)
  );
}
