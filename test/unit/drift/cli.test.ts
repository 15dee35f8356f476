import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { toCsv } from '#core/csv.ts';
import { driftCommand } from '../../../bin/commands/drift.ts';
import { normal } from './helpers.ts';

describe('vigil drift CLI', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  let out = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-drift-'));
    await writeFile(file('ref.csv'), toCsv(['cpu', 'mem'], [normal(800, 1), normal(800, 2, 50, 10)]));
    await writeFile(file('same.csv'), toCsv(['cpu', 'mem'], [normal(800, 3), normal(800, 4, 50, 10)]));
    await writeFile(file('shift.csv'), toCsv(['cpu', 'mem'], [normal(800, 3, 1), normal(800, 4, 60, 10)]));
    await writeFile(file('bad.csv'), 'cpu,mem\n1,x\n');
    // A label column whose rate differs a lot between the files: not a feature to test.
    const labels = (n: number, every: number) =>
      Float64Array.from({ length: n }, (_, i) => (i % every === 0 ? 1 : 0));
    await writeFile(
      file('ref-l.csv'),
      toCsv(['cpu', 'mem', 'label'], [normal(800, 1), normal(800, 2, 50, 10), labels(800, 50)]),
    );
    await writeFile(
      file('cur-l.csv'),
      toCsv(['cpu', 'mem', 'label'], [normal(800, 3), normal(800, 4, 50, 10), labels(800, 2)]),
    );
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    out = '';
  });

  it('exits 0 and prints a per-feature table when the current data matches the reference', async () => {
    const code = await driftCommand(['--reference', file('ref.csv'), '--current', file('same.csv')]);
    expect(code).toBe(0);
    expect(out).toMatch(/^feature\s+n\s+ks\s+wasserstein\s+anderson\s+cvm\s+jensenShannon\s+psi\s+meanShift/);
    expect(out).toMatch(/dataset drift: no/);
  });

  it('exits 1 when the dataset drifted, and --json prints the report', async () => {
    const code = await driftCommand([
      '--reference',
      file('ref.csv'),
      '--current',
      file('shift.csv'),
      '--json',
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(out);
    expect(report.drift).toBe(true);
    expect(report.features.cpu.drifted).toBe(true);
  });

  it('--features restricts the columns', async () => {
    const code = await driftCommand([
      '--reference',
      file('ref.csv'),
      '--current',
      file('shift.csv'),
      '--json',
      '--features',
      'cpu',
    ]);
    expect(code).toBe(1);
    expect(Object.keys(JSON.parse(out).features)).toEqual(['cpu']);
  });

  it('exits 2 on bad input: missing flags, unreadable numbers, unknown column', async () => {
    expect(await driftCommand(['--reference', file('ref.csv')])).toBe(2);
    expect(await driftCommand(['--reference', file('ref.csv'), '--current', file('bad.csv')])).toBe(2);
    expect(
      await driftCommand([
        '--reference',
        file('ref.csv'),
        '--current',
        file('same.csv'),
        '--features',
        'nope',
      ]),
    ).toBe(2);
  });

  it('--label leaves the ground-truth column out of the tests', async () => {
    await driftCommand(['--reference', file('ref-l.csv'), '--current', file('cur-l.csv'), '--json']);
    expect(JSON.parse(out).features.label.drifted).toBe(true);
    out = '';
    const code = await driftCommand([
      '--reference',
      file('ref-l.csv'),
      '--current',
      file('cur-l.csv'),
      '--json',
      '--label',
      'label',
    ]);
    expect(Object.keys(JSON.parse(out).features)).toEqual(['cpu', 'mem']);
    expect(code).toBe(0);
    expect(
      await driftCommand([
        '--reference',
        file('ref-l.csv'),
        '--current',
        file('cur-l.csv'),
        '--label',
        'nope',
      ]),
    ).toBe(2);
  });

  it('--help lists every option', async () => {
    expect(await driftCommand(['--help'])).toBe(0);
    for (const o of [
      '--reference',
      '--current',
      '--features',
      '--label',
      '--config',
      '--json',
      '--data-dir',
      '--help',
    ]) {
      expect(out).toContain(o);
    }
  });
});
