import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `npm ci` refuses a lock file that lacks an entry for any optional
 * dependency. This machine's registry mirror carries only some of Biome's
 * per-platform binaries, so `npm install` here silently drops the others from
 * the lock and the next `npm ci` (CI) fails. The lock keeps hand-written
 * entries for them (os/cpu-scoped, never installed here); this test catches a
 * lock regenerated without them before CI does.
 */
describe('package-lock.json', () => {
  it('has an entry for every optional dependency of every locked package', () => {
    const lock = JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../../../package-lock.json'), 'utf8'),
    );
    const packages: Record<string, { optionalDependencies?: Record<string, string> }> = lock.packages;
    const missing: string[] = [];
    for (const [where, pkg] of Object.entries(packages)) {
      for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
        // npm resolves a dependency in the package's own node_modules, then up the tree.
        const candidates: string[] = [];
        let base = where;
        for (;;) {
          candidates.push(`${base ? `${base}/` : ''}node_modules/${dep}`);
          const i = base.lastIndexOf('/node_modules/');
          if (base === '') break;
          base = i >= 0 ? base.slice(0, i) : '';
        }
        if (!candidates.some((c) => c in packages)) missing.push(`${dep} (needed by ${where || 'root'})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
