import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SECRET_CACHE_SECONDS, SecretsManagerKeys } from '#adapters/secrets.ts';
import {
  type ApiKeySet,
  CachedKeySource,
  generateApiKey,
  hashApiKey,
  revocationBoundSeconds,
  verifyApiKey,
} from '#core/auth.ts';
import { DependencyUnavailableError } from '#core/errors.ts';
import { createAuthorizer } from '#handlers/authorizer.ts';
import { loadConfig } from '../../../lib/config.ts';

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
    // Fail closed, but as "unavailable" (503 on the twin), not as "Invalid API key".
    await expect(broken({ headers: { 'x-api-key': key } })).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    expect(logged).toEqual(['API key set unavailable']);
  });
});

/** A loader whose answers the test scripts: a key set, or a failure. */
function scripted() {
  const state: { next: ApiKeySet | Error; reads: number } = { next: { keys: [] }, reads: 0 };
  const load = async () => {
    state.reads++;
    if (state.next instanceof Error) throw state.next;
    return state.next;
  };
  return { state, load };
}

describe('CachedKeySource (key set TTL and stale-on-error)', () => {
  it('serves a read for ttlMs, then reads again: a revocation shows after at most the TTL', async () => {
    const a = generateApiKey('score');
    const { state, load } = scripted();
    let t = 0;
    const src = new CachedKeySource(load, { ttlMs: 60_000, maxStaleMs: 0, now: () => t });
    state.next = { keys: [a.record] };
    expect((await src.apiKeys()).keys).toHaveLength(1);
    state.next = { keys: [] }; // revoked
    t = 59_999;
    expect((await src.apiKeys()).keys).toHaveLength(1);
    t = 60_000;
    expect((await src.apiKeys()).keys).toHaveLength(0);
    expect(state.reads).toBe(2);
  });

  it('keeps the last good set when a read fails, for at most maxStaleMs past the TTL', async () => {
    const a = generateApiKey('score');
    const { state, load } = scripted();
    let t = 0;
    const stale: number[] = [];
    const src = new CachedKeySource(load, {
      ttlMs: 1000,
      maxStaleMs: 5000,
      now: () => t,
      onStale: (_e, age) => stale.push(age),
    });
    state.next = { keys: [a.record] };
    await src.apiKeys();
    state.next = new Error('torn file');
    t = 5999;
    expect((await src.apiKeys()).keys[0].id).toBe(a.record.id);
    expect(stale).toEqual([5999]);
    t = 6000;
    await expect(src.apiKeys()).rejects.toThrow('torn file');
  });

  it('throws when no read ever succeeded (nobody is authorized)', async () => {
    const { state, load } = scripted();
    state.next = new Error('down');
    const src = new CachedKeySource(load, { ttlMs: 1000, maxStaleMs: Number.POSITIVE_INFINITY });
    await expect(src.apiKeys()).rejects.toThrow('down');
  });

  it('SecretsManagerKeys reads the secret once per SECRET_CACHE_SECONDS', async () => {
    const a = generateApiKey('admin');
    let calls = 0;
    const client = {
      send: async () => {
        calls++;
        return { SecretString: JSON.stringify({ keys: [a.record] }) };
      },
    } as unknown as SecretsManagerClient;
    let t = 0;
    const src = new SecretsManagerKeys('vigil/keys', client, { now: () => t });
    await src.apiKeys();
    t = SECRET_CACHE_SECONDS * 1000 - 1;
    await src.apiKeys();
    expect(calls).toBe(1);
    t = SECRET_CACHE_SECONDS * 1000;
    await src.apiKeys();
    expect(calls).toBe(2);
  });
});

describe('revocation bound in AWS', () => {
  it('is the authorizer result cache plus the secret cache, plus the stale window only during an outage', () => {
    // prod config: API Gateway caches a result 300 s; the authorizer keeps the set 60 s.
    expect(revocationBoundSeconds({ authorizerCacheSeconds: 300, secretCacheSeconds: 60 })).toBe(360);
    expect(
      revocationBoundSeconds({
        authorizerCacheSeconds: 300,
        secretCacheSeconds: 60,
        maxStaleSeconds: 600,
        duringSecretOutage: true,
      }),
    ).toBe(960);
  });

  it('the shipped settings keep the bound within the README runbook promise (≤ 6 minutes normally)', () => {
    for (const env of ['dev', 'staging', 'prod'] as const) {
      const { authorizerCacheSeconds } = loadConfig(env).api;
      expect(
        revocationBoundSeconds({ authorizerCacheSeconds, secretCacheSeconds: SECRET_CACHE_SECONDS }),
      ).toBeLessThanOrEqual(360);
    }
  });
});
