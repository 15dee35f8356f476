import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logger } from '#adapters/observability.ts';
import { FileKeys } from '#adapters/secrets.ts';
import { ApiKeySetSchema, generateApiKey, hashApiKey, verifyApiKey } from '#core/auth.ts';
import { createAuthorizer } from '#handlers/authorizer.ts';
import { keysCommand } from '../../../bin/commands/keys.ts';

describe('vigil keys create', () => {
  it('prints a key once and a record holding only its hash', async () => {
    let printed = '';
    expect(await keysCommand(['create', '--scope', 'admin'], (t) => (printed += t))).toBe(0);
    const { key, record } = JSON.parse(printed);
    expect(record.hash).toBe(hashApiKey(key));
    expect(JSON.stringify(record)).not.toContain(key);
    expect(verifyApiKey(key, { keys: [record] })?.scope).toBe('admin');
  });

  it('--local adds the record to the twin key file, and the new key verifies against it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-keys-'));
    try {
      await writeFile(path.join(dir, 'api-keys.json'), JSON.stringify({ keys: [] }));
      let printed = '';
      expect(await keysCommand(['create', '--local', '--data-dir', dir], (t) => (printed += t))).toBe(0);
      const set = ApiKeySetSchema.parse(JSON.parse(await readFile(path.join(dir, 'api-keys.json'), 'utf8')));
      expect(set.keys).toHaveLength(1);
      expect(verifyApiKey(printed.trim(), set)?.scope).toBe('score');
      expect(await readFile(path.join(dir, 'api-keys.json'), 'utf8')).not.toContain(printed.trim());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses unknown scopes and subcommands', async () => {
    expect(await keysCommand(['create', '--scope', 'root'], () => undefined)).toBe(2);
    expect(await keysCommand(['delete'], () => undefined)).toBe(2);
  });

  it('rotation under traffic: a reader never sees a torn key file, a valid key is never refused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-keys-'));
    const file = path.join(dir, 'api-keys.json');
    try {
      const first = generateApiKey('score');
      await writeFile(file, JSON.stringify({ keys: [first.record] }));
      const authorize = createAuthorizer(
        () => source,
        () => logger,
      );
      const source = new FileKeys(file);
      let rotating = true;
      let torn = 0;
      let denied = 0;
      let reads = 0;
      // Raw readers (no cache: what any process reading the file sees) and the authorizer itself.
      const traffic = Array.from({ length: 4 }, async () => {
        while (rotating) {
          reads++;
          try {
            ApiKeySetSchema.parse(JSON.parse(await readFile(file, 'utf8')));
          } catch {
            torn++;
          }
          if (!(await authorize({ headers: { 'x-api-key': first.key } })).isAuthorized) denied++;
        }
      });
      for (let i = 0; i < 40; i++) {
        expect(await keysCommand(['create', '--local', '--data-dir', dir], () => undefined)).toBe(0);
      }
      rotating = false;
      await Promise.all(traffic);
      expect(reads).toBeGreaterThan(40);
      expect({ torn, denied }).toEqual({ torn: 0, denied: 0 });
      const set = ApiKeySetSchema.parse(JSON.parse(await readFile(file, 'utf8')));
      expect(set.keys).toHaveLength(41);
      // No temporary files left beside it.
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the twin keeps the last good key set when the file cannot be read (a half-saved hand edit)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-keys-'));
    const file = path.join(dir, 'api-keys.json');
    try {
      const k = generateApiKey('score');
      await writeFile(file, JSON.stringify({ keys: [k.record] }));
      const source = new FileKeys(file);
      const authorize = createAuthorizer(
        () => source,
        () => logger,
      );
      expect((await authorize({ headers: { 'x-api-key': k.key } })).isAuthorized).toBe(true);
      await writeFile(file, '{"keys": [');
      expect((await authorize({ headers: { 'x-api-key': k.key } })).isAuthorized).toBe(true);
      // A good file again is read again: a revocation still takes effect at once.
      await writeFile(file, JSON.stringify({ keys: [] }));
      expect((await authorize({ headers: { 'x-api-key': k.key } })).isAuthorized).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
