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
