import { describe, expect, it } from 'vitest';
import { type ApiKeySet, generateApiKey, hashApiKey, verifyApiKey } from '#core/auth.ts';
import { createAuthorizer } from '#handlers/authorizer.ts';

describe('API keys', () => {
  it('hashes with SHA-256 (FIPS 180-2 "abc" vector)', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('accepts a generated key and refuses others', () => {
    const { key, record } = generateApiKey('score');
    const set: ApiKeySet = { keys: [record] };
    expect(verifyApiKey(key, set)?.id).toBe(record.id);
    expect(verifyApiKey(`${key}x`, set)).toBeUndefined();
    expect(verifyApiKey(undefined, set)).toBeUndefined();
    expect(verifyApiKey('', set)).toBeUndefined();
  });

  it('supports rotation: old and new keys both work until the old one expires', () => {
    const old = generateApiKey('score', new Date('2026-01-01T00:00:00Z'));
    const fresh = generateApiKey('score', new Date('2026-02-01T00:00:00Z'));
    const set: ApiKeySet = { keys: [{ ...old.record, expiresAt: '2026-02-08T00:00:00Z' }, fresh.record] };
    const during = new Date('2026-02-05T00:00:00Z');
    const after = new Date('2026-02-09T00:00:00Z');
    expect(verifyApiKey(old.key, set, during)).toBeDefined();
    expect(verifyApiKey(fresh.key, set, during)).toBeDefined();
    expect(verifyApiKey(old.key, set, after)).toBeUndefined();
    expect(verifyApiKey(fresh.key, set, after)).toBeDefined();
  });

  it('authorizer: authorizes a valid x-api-key, denies otherwise, fails closed on a broken key source', async () => {
    const { key, record } = generateApiKey('admin');
    const logged: string[] = [];
    const log = () => ({ error: (message: string) => void logged.push(message) });
    const ok = createAuthorizer(() => ({ apiKeys: async () => ({ keys: [record] }) }), log);
    expect(await ok({ headers: { 'x-api-key': key } })).toEqual({
      isAuthorized: true,
      context: { keyId: record.id, scope: 'admin' },
    });
    expect((await ok({ headers: { 'x-api-key': 'nope' } })).isAuthorized).toBe(false);
    expect((await ok({ headers: {} })).isAuthorized).toBe(false);
    expect(logged).toEqual([]);
    const broken = createAuthorizer(
      () => ({
        apiKeys: async () => {
          throw new Error('secret unavailable');
        },
      }),
      log,
    );
    expect((await broken({ headers: { 'x-api-key': key } })).isAuthorized).toBe(false);
    expect(logged).toEqual(['API key set unavailable']);
  });
});
