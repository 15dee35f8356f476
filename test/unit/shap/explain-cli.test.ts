import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { explainCommand } from '../../../bin/commands/explain.ts';

const MODEL = path.resolve(import.meta.dirname, '../../../models/default');
const BODY = JSON.stringify({
  rows: [
    { cpu: 35, memory: 55, network: 420, disk_io: 95, latency: 28 },
    { cpu: 97, memory: 98, network: 40, disk_io: 400, latency: 150 },
  ],
});

/** Runs the command with `body` on stdin, output captured. */
async function withStdin(body: string, argv: string[]): Promise<{ code: number; err: string }> {
  const original = Object.getOwnPropertyDescriptor(process, 'stdin');
  Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(body)]), configurable: true });
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await explainCommand(argv), err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    if (original) Object.defineProperty(process, 'stdin', original);
  }
}

describe('vigil explain --svg --row', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-explain-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('draws the row it is asked for', async () => {
    const a = path.join(dir, 'r0.svg');
    const b = path.join(dir, 'r1.svg');
    expect((await withStdin(BODY, ['--model', MODEL, '--svg', a])).code).toBe(0);
    const r = await withStdin(BODY, ['--model', MODEL, '--svg', b, '--row', '1']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('(row 1)');
    const [s0, s1] = [await readFile(a, 'utf8'), await readFile(b, 'utf8')];
    expect(s1).toMatch(/^<svg/);
    expect(s1).not.toBe(s0);
  });

  it('names the flag when --row is wrong', async () => {
    expect(
      (await withStdin(BODY, ['--model', MODEL, '--svg', path.join(dir, 'x.svg'), '--row', 'two'])).err,
    ).toMatch(/^--row must be an integer/);
    expect((await withStdin(BODY, ['--model', MODEL, '--row', '1'])).err).toMatch(
      /^--row chooses the row --svg draws/,
    );
    const out = await withStdin(BODY, ['--model', MODEL, '--svg', path.join(dir, 'y.svg'), '--row', '5']);
    expect(out).toMatchObject({ code: 2 });
    expect(out.err).toMatch(/^--row 5 is out of range: the body has 2 rows/);
  });
});
