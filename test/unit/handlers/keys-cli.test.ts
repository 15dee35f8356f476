import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeySetSchema, hashApiKey, verifyApiKey } from '#core/auth.ts';
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
});
