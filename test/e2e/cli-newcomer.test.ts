import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTwin, type Twin } from '../../local/twin.ts';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../bin/vigil.mjs');

/** Runs the real CLI as a user would; resolves with its exit code and output (never rejects). */
async function vigil(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], {
      timeout: timeoutMs,
      env: { ...process.env, PORT: '' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; signal?: string; stdout: string; stderr: string };
    return {
      code: typeof x.code === 'number' ? x.code : -1,
      stdout: x.stdout,
      stderr: `${x.stderr}${x.signal ?? ''}`,
    };
  }
}

describe('the CLI and the twin, as a newcomer meets them', () => {
  let twin: Twin;
  let dir: string;
  let other: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-'));
    other = await mkdtemp(path.join(tmpdir(), 'vigil-cli-'));
    twin = await startTwin({ port: 0, dataDir: dir, driftEveryMs: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
    await rm(other, { recursive: true, force: true });
  });

  it('a second `vigil serve` on the same data dir says where the first runs, and exits non-zero', async () => {
    const r = await vigil(['serve', '--port', '0', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`already running at ${twin.url}`);
    expect(r.stderr).not.toMatch(/LOCK|leveldb|at .*:\d+:\d+/i);
  });

  it('`vigil serve` on a taken port exits non-zero with a sentence instead of hanging', async () => {
    const r = await vigil(['serve', '--port', String(twin.port), '--data-dir', other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`port ${twin.port} on 127.0.0.1 is already in use: stop what runs there or pass --port`),
    );
  });

  it('--version and --help on the root, --help on serve (the entry point itself)', async () => {
    const v = await vigil(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: 'vigil 0.1.0\n' });
    const serve = await vigil(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toMatch(/^Usage: vigil serve/);
    for (const o of ['--port', '--host', '--data-dir', '--drift-every', '--aws'])
      expect(serve.stdout).toContain(o);
  });

  it('--help on every other subcommand exits 0 and names --data-dir', async () => {
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      printed.push(String(s));
      return true;
    });
    try {
      const commands = [
        (await import('../../bin/commands/train.ts')).trainCommand,
        (await import('../../bin/commands/score.ts')).scoreCommand,
        (await import('../../bin/commands/explain.ts')).explainCommand,
        (await import('../../bin/commands/drift.ts')).driftCommand,
        (await import('../../bin/commands/keys.ts')).keysCommand,
      ];
      for (const cmd of commands) {
        printed.length = 0;
        expect(await cmd(['--help'])).toBe(0);
        expect(printed.join('')).toMatch(/^Usage: vigil /);
        expect(printed.join('')).toContain('--data-dir');
      }
    } finally {
      spy.mockRestore();
    }
  });

  it('a bad flag is named, with the usage, exit 2', async () => {
    const r = await vigil(['serve', '--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^--port must be an integer from 0 to 65535, got 'eighty'/);
  });
});
