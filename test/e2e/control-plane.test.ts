import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '#contracts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { modelsCli } from '../../bin/commands/models-cli.ts';
import { startTwin, type Twin } from '../../local/twin.ts';
import { fixturePackage } from '../unit/registry/fixture-package.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below.
type Json = any;

async function writePackage(dir: string, pkg: ModelPackage): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.onnx'), pkg.onnx);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(pkg.manifest));
  return dir;
}

describe('control plane on the local twin over HTTP', () => {
  let twin: Twin;
  let dir: string;
  /** `vigil models …` with the defaults a local operator has: the twin's URL and its key file. */
  const vigil = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await modelsCli([...argv, '--data-dir', dir], {
      env: { VIGIL_URL: twin.url.replace('localhost', '127.0.0.1') },
      out: (t) => {
        stdout += t;
      },
      err: (t) => {
        stderr += t;
      },
    });
    return { code, stdout, stderr };
  };
  const call = (method: string, p: string, key: string | undefined, body?: unknown) =>
    fetch(`${twin.url}${p}`, {
      method,
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-cp-'));
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('register → approve → promote → rollback → history through `vigil models`, actor = the key id', async () => {
    const pkgDir = await writePackage(
      path.join(dir, 'pkg-a'),
      fixturePackage({ name: 'cli-model', seed: 3 }),
    );
    let r = await vigil('register', '--package', pkgDir, '--reason', 'first cut');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Registered cli-model version 1 \(PendingManualApproval\) at file:\/\//);
    r = await vigil('register', '--package', pkgDir);
    expect(r.stdout).toMatch(/^Already registered: cli-model version 1/);
    r = await vigil('register', '--package', pkgDir, '--force', '--upload', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ created: true, version: { name: 'cli-model', version: 2 } });

    expect((await vigil('approve', 'cli-model', '1', '--reason', 'offline eval ok')).stdout).toBe(
      'cli-model version 1 is now Approved\n',
    );
    expect((await vigil('approve', 'cli-model', '2', '--reason', 'ok')).code).toBe(0);
    expect((await vigil('promote', 'cli-model', '--version', '1')).stdout).toBe(
      'cli-model production moved: (unset) -> version 1 (revision 1)\n',
    );
    expect((await vigil('promote', 'cli-model', '--version', '2', '--reason', 'better auc')).stdout).toBe(
      'cli-model production moved: version 1 -> version 2 (revision 2)\n',
    );
    const served = await call('POST', '/v1/models/cli-model/score', twin.scoreApiKey, {
      rows: [{ cpu: 1, memory: 2 }],
    });
    expect(((await served.json()) as Json).version).toBe(2);
    expect((await vigil('rollback', 'cli-model', '--reason', 'p99 alarm')).stdout).toBe(
      'cli-model production rolled back: version 2 -> version 1 (revision 3)\n',
    );

    r = await vigil('history', 'cli-model', '--json');
    const events = JSON.parse(r.stdout).events as Json[];
    expect(events.map((e) => e.type)).toEqual([
      'registered',
      'registered',
      'approved',
      'approved',
      'alias-set',
      'alias-set',
      'rolled-back',
    ]);
    const keyId = events[0].actor;
    expect(keyId).toMatch(/^key-[0-9a-f]{8}$/);
    expect(events.every((e) => e.actor === keyId)).toBe(true);
    expect(events.map((e) => e.reason ?? null)).toEqual([
      'first cut',
      null,
      'offline eval ok',
      'ok',
      null,
      'better auc',
      'p99 alarm',
    ]);
    const at = events[4].at as string;
    r = await vigil('history', 'cli-model', '--at', at);
    expect(r.stdout).toMatch(/^production served version 1 at /);
    expect((await vigil('versions', 'cli-model')).stdout).toMatch(/\n1\s+Approved\s+production@r3\s/);
  });

  it('turns API refusals into exit code 1 with the API message, usage mistakes into 2 naming the flag', async () => {
    const pkgDir = await writePackage(
      path.join(dir, 'pkg-b'),
      fixturePackage({ name: 'pending-model', seed: 4 }),
    );
    expect((await vigil('register', '--package', pkgDir)).code).toBe(0);
    const r = await vigil('promote', 'pending-model', '--version', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: Version 1 of 'pending-model' is PendingManualApproval; only Approved versions can take alias 'production' (HTTP 409 NotApproved)\n",
    );
    const stale = await vigil(
      'promote',
      'pending-model',
      '--alias',
      'staging',
      '--version',
      '1',
      '--expected-revision',
      '4',
    );
    expect(stale.stderr).toMatch(/is at revision 0, not the expected 4.*\(HTTP 409 Conflict\)/);
    for (const [argv, message] of [
      [['promote', 'pending-model'], 'promote needs --version <N>'],
      [['approve', 'pending-model', '1'], 'approve needs --reason <text>'],
      [
        ['rollback', 'pending-model', '--reason', 'x', '--to', 'two'],
        "--to must be a positive integer, got 'two'",
      ],
      [['register'], 'register needs --package <dir>'],
      [
        ['register', '--package', path.join(dir, 'nope')],
        `--package '${path.join(dir, 'nope')}' has no manifest.json`,
      ],
      [['delete-alias', 'pending-model'], 'delete-alias needs --alias <a>'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ] as const) {
      const u = await vigil(...argv);
      expect(u.code, argv.join(' ')).toBe(2);
      expect(u.stderr, argv.join(' ')).toContain(`error: ${message}`);
    }
    const help = await vigil('rollback', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/undoes the alias' last move/);
  });

  it('refuses a score-scoped key on every admin route (403) and a missing key (401); read routes take both', async () => {
    const sample = (p: string) =>
      p.replace('{model}', 'default').replace('{version}', '1').replace('{alias}', 'production');
    for (const r of ROUTES) {
      const p = sample(r.path);
      const bodies: Record<string, unknown> = { POST: {}, PUT: {} };
      const label = `${r.method} ${r.path}`;
      if (r.auth === 'public') continue;
      const none = await call(r.method, p, undefined, bodies[r.method]);
      expect(none.status, `${label} without a key`).toBe(401);
      const asScore = await call(r.method, p, twin.scoreApiKey, bodies[r.method]);
      // The admin probe goes to a model that does not exist, so it changes nothing (answers 404/400).
      const asAdmin = await call(r.method, p.replace('/default', '/ghost'), twin.apiKey, bodies[r.method]);
      if (r.auth === 'admin') {
        expect(asScore.status, `${label} with a score key`).toBe(403);
        expect(((await asScore.json()) as Json).error.message).toMatch(/needs an admin-scoped API key/);
        expect([401, 403], `${label} with the admin key`).not.toContain(asAdmin.status);
        // Every admin route is implemented: a missing model is a 4xx, never the 500 of a gap.
        expect(asAdmin.status, `${label} with the admin key`).toBeLessThan(500);
      } else {
        expect([401, 403], `${label} with a score key`).not.toContain(asScore.status);
        expect([401, 403], `${label} with the admin key`).not.toContain(asAdmin.status);
      }
    }
    // The twin's own admin state did not change through any refused call.
    const after = (await (await call('GET', '/v1/models/default/versions', twin.apiKey)).json()) as Json;
    expect(after.revisions).toEqual({ production: 1 });
  });

  it('20 concurrent promoters × 50 moves: one event per accepted move, a 409 naming the revision for every refusal', async () => {
    const pkgDir = await writePackage(
      path.join(dir, 'pkg-c'),
      fixturePackage({ name: 'race-model', seed: 5 }),
    );
    expect((await vigil('register', '--package', pkgDir)).code).toBe(0);
    expect((await vigil('register', '--package', pkgDir, '--force')).code).toBe(0);
    for (const v of ['1', '2'])
      expect((await vigil('approve', 'race-model', v, '--reason', 'race')).code).toBe(0);
    const accepted: number[] = [];
    let refused = 0;
    const promoter = async (id: number) => {
      // Each promoter believes what it last heard: its own success or the revision a 409 named.
      let revision = 0;
      let version = 0;
      for (let i = 0; i < 50; i++) {
        const to = version === 1 ? 2 : 1;
        const res = await call('PUT', '/v1/models/race-model/aliases/staging', twin.apiKey, {
          version: to,
          expectedRevision: revision,
          reason: `promoter ${id} move ${i}`,
        });
        const body = (await res.json()) as Json;
        if (res.status === 200) {
          expect(body).toMatchObject({ changed: true, revision: revision + 1, version: to });
          accepted.push(body.revision);
          revision = body.revision;
          version = to;
        } else {
          expect(res.status).toBe(409);
          expect(body.error.code).toBe('Conflict');
          expect(body.error.details.currentRevision).toBeGreaterThan(revision);
          expect(body.error.message).toContain(`is at revision ${body.error.details.currentRevision}`);
          refused++;
          revision = body.error.details.currentRevision;
          // The version at that revision is unknown to this promoter: read it, as a client would.
          const state = (await (
            await call('GET', '/v1/models/race-model/versions', twin.apiKey)
          ).json()) as Json;
          if (state.revisions.staging === revision) version = state.aliases.staging;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => promoter(i)));
    expect(accepted.length + refused).toBe(1000);
    expect(accepted.length).toBeGreaterThan(0);
    // Every revision 1..N was granted to exactly one promoter.
    expect([...accepted].sort((a, b) => a - b)).toEqual(
      Array.from({ length: accepted.length }, (_, i) => i + 1),
    );
    const state = (await (await call('GET', '/v1/models/race-model/versions', twin.apiKey)).json()) as Json;
    expect(state.revisions.staging).toBe(accepted.length);
    const history = (await (
      await call('GET', '/v1/models/race-model/history?alias=staging', twin.apiKey)
    ).json()) as Json;
    const moves = history.events as Json[];
    expect(moves).toHaveLength(accepted.length);
    expect(new Set(moves.map((e) => e.revision)).size).toBe(accepted.length);
    // Each event chains from the version the previous revision set.
    const byRevision = [...moves].sort((a, b) => a.revision - b.revision);
    for (let i = 1; i < byRevision.length; i++) expect(byRevision[i].from).toBe(byRevision[i - 1].to);
  }, 600_000);
});
