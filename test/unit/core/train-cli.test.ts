import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TRAIN_USAGE, trainCommand } from '../../../bin/commands/train.ts';

describe('vigil train, as a newcomer meets it', () => {
  let dir: string;
  let out = '';
  let err = '';
  const f = (name: string) => path.join(dir, name);
  const rows = (n: number, extra: (i: number) => string = () => '') =>
    Array.from({ length: n }, (_, i) => `${(i * 7) % 50},${(i * 13) % 70}${extra(i)}`).join('\n');
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-train-'));
    await writeFile(f('labelled.csv'), `cpu,mem,label\n${rows(300, (i) => `,${i % 30 === 0 ? 1 : 0}`)}\n`);
    await writeFile(f('hosts.csv'), `cpu,mem,host\n${rows(300, (i) => `,web-${i % 3}`)}\n`);
    await writeFile(f('proto.csv'), `cpu,__proto__\n${rows(300)}\n`);
    await writeFile(f('plain.csv'), `cpu,mem\n${rows(300)}\n`);
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err += String(s);
      return true;
    });
  });
  afterEach(() => {
    out = '';
    err = '';
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to train on a label-like column unless features are named, and says how to go on', async () => {
    expect(await trainCommand(['--data', f('labelled.csv'), '--out', f('m1')])).toBe(2);
    expect(err).toMatch(/'label' looks like a label \(pass --label label/);
    expect(err).toMatch(/--features a,b,c/);
  });

  it('with --label, trains on the rest and prints which columns became features', async () => {
    expect(
      await trainCommand([
        '--data',
        f('labelled.csv'),
        '--out',
        f('m2'),
        '--label',
        'label',
        '--trees',
        '10',
      ]),
    ).toBe(0);
    expect(out).toMatch(/features cpu, mem \(2\)/);
    expect(out).toMatch(/ROC AUC/);
  });

  it('refuses a non-numeric column unless features are named', async () => {
    expect(await trainCommand(['--data', f('hosts.csv'), '--out', f('m3')])).toBe(2);
    expect(err).toMatch(/'host' is not numeric/);
    expect(
      await trainCommand([
        '--data',
        f('hosts.csv'),
        '--out',
        f('m3'),
        '--features',
        'cpu,mem',
        '--trees',
        '5',
      ]),
    ).toBe(0);
    expect(out).toMatch(/features cpu, mem/);
  });

  it('a __proto__ column gets a sentence, not a zod issue array', async () => {
    expect(await trainCommand(['--data', f('proto.csv'), '--out', f('m4')])).toBe(2);
    expect(err).toMatch(/^column '__proto__' cannot be a feature: the name is reserved/);
    expect(err).not.toMatch(/"code"|issues/);
  });

  it('errors name the flag', async () => {
    expect(await trainCommand(['--data', f('plain.csv'), '--out', f('m5'), '--trees', 'many'])).toBe(2);
    expect(err).toMatch(/^--trees must be an integer from 1 to 10000, got 'many'/);
    err = '';
    expect(await trainCommand(['--data', f('plain.csv'), '--out', f('m5'), '--contamination', '2'])).toBe(2);
    expect(err).toMatch(/--contamination must be 'auto' or a number in \(0, 0.5\]/);
    err = '';
    expect(await trainCommand(['--data', f('plain.csv'), '--out', f('m5'), '--tres', '3'])).toBe(2);
    expect(err).toMatch(/Unknown option '--tres'/);
    err = '';
    expect(await trainCommand(['--out', f('m5')])).toBe(2);
    expect(err).toMatch(/^--data <file.csv> is required/);
  });

  it('prints a line per stage with counts when not on a terminal', async () => {
    expect(await trainCommand(['--data', f('plain.csv'), '--out', f('m6'), '--trees', '7'])).toBe(0);
    const stages = err
      .trim()
      .split('\n')
      .map((l) => l.split(':')[0]);
    expect(stages).toEqual(['parse', 'build', 'score', 'write']);
    expect(err).toMatch(/^parse: 300 rows, features cpu, mem$/m);
    expect(err).toMatch(/^build: 7 trees$/m);
    expect(err).toMatch(/^score: skipped \(threshold 'auto' and no --label need no training scores\)$/m);
  });

  it('scores the training rows when a contamination threshold needs them', async () => {
    expect(
      await trainCommand([
        '--data',
        f('plain.csv'),
        '--out',
        f('m6c'),
        '--trees',
        '7',
        '--contamination',
        '0.1',
      ]),
    ).toBe(0);
    expect(err).toMatch(/^score: 300 training rows scored$/m);
  });

  it('--help lists every option and exits 0; --data-dir is accepted', async () => {
    expect(await trainCommand(['--help'])).toBe(0);
    for (const o of [
      '--data',
      '--out',
      '--features',
      '--label',
      '--name',
      '--trees',
      '--max-samples',
      '--seed',
      '--contamination',
      '--data-dir',
      '--help',
    ]) {
      expect(out).toContain(o);
    }
    expect(out.trim()).toBe(TRAIN_USAGE.trim());
    expect(
      await trainCommand(['--data', f('plain.csv'), '--out', f('m7'), '--trees', '3', '--data-dir', dir]),
    ).toBe(0);
  });
});
