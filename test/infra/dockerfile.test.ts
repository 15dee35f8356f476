import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/constructs/model-function.ts';
import { HEALTH_PATH } from '../../lib/constructs/streaming-scorer-manifests.ts';

// No Docker engine here: the image cannot be built, so its properties are checked by reading it.
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');

describe('Dockerfile of the streaming scorer', () => {
  it('pins every base image to an exact node 22 version', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^FROM node:22\.\d+\.\d+-[a-z]+-slim\b/);
  });

  it('installs only production dependencies in the runtime stage', () => {
    const runtime = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));
    expect(runtime.some((l) => /npm ci --omit=dev/.test(l))).toBe(true);
  });

  it('runs as the non-root uid the Deployment expects', () => {
    const users = instructions.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toBe('USER 10001:10001');
  });

  it('runs node on the esbuild bundle of bin/vigil.ts serve', () => {
    expect(dockerfile).toMatch(/esbuild bin\/vigil\.ts --bundle/);
    expect(instructions).toContain('ENTRYPOINT ["node", "dist/vigil.mjs"]');
    expect(instructions.find((l) => l.startsWith('CMD '))).toMatch(/"serve", "--aws"/);
  });

  it('bundles from what the build stage copies, importing eagerly only production dependencies', async () => {
    // GIVEN exactly the folders the build stage COPYs (no lib/, no test/), as the image builds them
    const copied = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.slice(5).split(/\s+/).slice(0, -1));
    const dir = mkdtempSync(join(tmpdir(), 'vigil-image-'));
    try {
      for (const f of copied) cpSync(join(REPO_ROOT, f), join(dir, f), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
      // WHEN esbuild bundles the entry point as the Dockerfile does
      const out = await build({
        entryPoints: [join(dir, 'bin/vigil.ts')],
        bundle: true,
        platform: 'node',
        target: 'node22',
        format: 'esm',
        packages: 'external',
        write: false,
        logLevel: 'silent',
      });
      // THEN every package it imports at start-up is installed by `npm ci --omit=dev`
      const code = out.outputFiles[0].text;
      const eager = [...code.matchAll(/^import\s[^;]*?from\s*"([^"]+)"/gm)].map((m) => m[1]);
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
      const name = (s: string) =>
        (s.startsWith('@') ? s.split('/').slice(0, 2) : s.split('/').slice(0, 1)).join('/');
      const missing = eager.filter((s) => !s.startsWith('node:') && !(name(s) in pkg.dependencies));
      expect(eager.length).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('checks health on the same path as the Kubernetes probes', () => {
    const healthcheck = instructions.find((l) => l.startsWith('HEALTHCHECK '));
    expect(healthcheck).toContain(HEALTH_PATH);
  });

  it('carries no secrets: no credentials in ENV/ARG and secret files excluded from the context', () => {
    const settings = instructions.filter((l) => /^(ENV|ARG) /.test(l)).join('\n');
    expect(settings).not.toMatch(
      /AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)|PASSWORD|SECRET|TOKEN/i,
    );
    expect(dockerignore).toEqual(expect.arrayContaining(['.env', '*.pem', '*.key', '.git', 'node_modules']));
  });
});
