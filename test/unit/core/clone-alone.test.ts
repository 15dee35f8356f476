import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : files(p);
    return /\.(ts|mts|js)$/.test(e.name) ? [p] : [];
  });
}

/** A user's clone has no `shared/` beside it: every file a test reads must live in the repository. */
describe('tests read only the repository', () => {
  it('no test or bench file refers to a path outside the checkout (the shared folder beside it)', () => {
    const offenders = [...files(path.join(repoRoot, 'test')), ...files(path.join(repoRoot, 'bench'))]
      .filter((f) => f !== import.meta.filename)
      .filter((f) => /\.\.\/shared\b|['"`]\/work\//.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(repoRoot, f));
    expect(offenders).toEqual([]);
  });

  it('every fixture in test/fixtures is listed with its provenance', () => {
    const readme = readFileSync(path.join(repoRoot, 'test/fixtures/README.md'), 'utf8');
    const listed = readdirSync(path.join(repoRoot, 'test/fixtures/oracle')).filter((f) => f !== 'README.md');
    for (const f of listed) expect(readme).toContain(`oracle/${f}`);
  });
});
