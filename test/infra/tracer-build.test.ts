import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TRACER } from '#contracts';
import { REPO_ROOT, tracerBuildCommand } from '../../lib/constructs/model-function.ts';

describe('Powertools Tracer beside the bundle', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'vigil-tracer-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('the afterBundling command builds TRACER.file, an ESM module exporting captureHandler', async () => {
    // GIVEN the command the construct hands to CDK's local bundling
    const command = tracerBuildCommand(REPO_ROOT, out);
    // WHEN it runs in a shell, as CDK runs it
    execFileSync('bash', ['-c', command], { stdio: 'pipe' });
    // THEN the file exists and loads as the runtime will load it
    const file = path.join(out, TRACER.file);
    expect(existsSync(file)).toBe(true);
    const mod = (await import(pathToFileURL(file).href)) as { captureHandler: (s: string) => object };
    expect(Object.keys(mod.captureHandler('vigil-test'))).toEqual(
      expect.arrayContaining(['before', 'after']),
    );
  }, 60_000);
});
