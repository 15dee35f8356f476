import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelPackage } from '#core/model/manifest.ts';
import type { ReleaseRecord } from '#core/release/types.ts';
import { modelsCli } from '../../bin/commands/models-cli.ts';
import { startTwin, type Twin } from '../../local/twin.ts';
import { fixturePackage } from '../unit/registry/fixture-package.ts';

/**
 * A model release end to end on the twin (`npm start`): the releases API starts the synthesized
 * release machine on the local runner; the twin's score function serves blue and a pinned green
 * behind a weighted `live` alias; the judgement reads the twin's per-version metrics.
 */
async function writePackage(dir: string, pkg: ModelPackage): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.onnx'), pkg.onnx);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(pkg.manifest));
  return dir;
}

describe('model releases on the twin', () => {
  let twin: Twin;
  let dir: string;
  const vigil = async (...argv: string[]) => {
    const code = await modelsCli([...argv, '--data-dir', dir], {
      env: { VIGIL_URL: twin.url.replace('localhost', '127.0.0.1') },
      out: () => undefined,
      err: (t) => process.stderr.write(t),
    });
    expect(code).toBe(0);
  };
  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${twin.url}${route}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-api-key': twin.apiKey },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const score = async () => {
    const res = await fetch(`${twin.url}/v1/models/rel/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.scoreApiKey },
      body: JSON.stringify({
        rows: Array.from({ length: 20 }, (_, i) => ({ cpu: i % 11, memory: (3 * i) % 13 })),
      }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  /** Scores until the model's newest release ends; returns it. */
  const drive = async (): Promise<ReleaseRecord> => {
    for (let i = 0; i < 2000; i++) {
      for (let k = 0; k < 5; k++) await score();
      const r = (await api('GET', '/v1/models/rel/releases?limit=1')).body.releases as ReleaseRecord[];
      const rel = r[0];
      if (rel && ['promoted', 'rolled-back', 'failed'].includes(rel.phase)) return rel;
    }
    throw new Error('release did not end');
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-release-'));
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
    // The fixture's tiny forest gives these rows one score (~1.31): blue flags none, the bad candidate all.
    const fixture = fixturePackage({ name: 'rel', seed: 3 });
    const base = { ...fixture, manifest: { ...fixture.manifest, threshold: 1.5 } };
    await vigil('register', '--package', await writePackage(path.join(dir, 'a'), base));
    // v2: the same model again (a good candidate); v3: a threshold that flags every row.
    await vigil('register', '--package', await writePackage(path.join(dir, 'b'), base), '--force');
    const flagsAll = { ...base, manifest: { ...base.manifest, threshold: 0.0001 } };
    await vigil('register', '--package', await writePackage(path.join(dir, 'c'), flagsAll), '--force');
    for (const v of ['1', '2', '3']) await vigil('approve', 'rel', v, '--reason', 'test');
    await vigil('promote', 'rel', '--version', '1');
  }, 240_000);
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rolls back a candidate that flags nearly everything at the first step; then zero requests reach green', async () => {
    const start = await api('POST', '/v1/models/rel/releases', { version: 3, policy: 'canary10-15m' });
    expect(start.status).toBe(202);
    // One release per model at a time.
    expect((await api('POST', '/v1/models/rel/releases', { version: 2 })).status).toBe(409);
    // A hand promotion while it runs is refused.
    const hand = await api('PUT', '/v1/models/rel/aliases/production', { version: 2, expectedRevision: 1 });
    expect(hand.status).toBe(409);

    const rel = await drive();
    expect(rel.phase).toBe('rolled-back');
    expect(rel.step).toBe(0);
    expect(rel.outcome?.breaches?.map((b) => b.signal)).toContain('anomaly-rate');
    expect(rel.judgements.map((j) => [j.phase, j.weight, j.decision])).toEqual([
      ['traffic', 0.1, 'rollback'],
    ]);
    expect(rel.judgements[0]?.green?.invocations).toBeGreaterThan(0);

    twin.scoreFunction.resetRoutingCounts();
    for (let i = 0; i < 30; i++) expect(await score()).toBe(200);
    expect(twin.scoreFunction.routingCounts()).toEqual({ '1': 30 });
    const versions = (await api('GET', '/v1/models/rel/versions')).body as {
      aliases: Record<string, number>;
    };
    expect(versions.aliases.production).toBe(1);
  }, 240_000);

  it('a good candidate goes to 10 % and is promoted; production then serves it', async () => {
    expect((await api('POST', '/v1/models/rel/releases', { version: 2 })).status).toBe(202);
    const rel = await drive();
    expect(rel.phase).toBe('promoted');
    expect(rel.judgements.map((j) => [j.phase, j.weight, j.decision])).toEqual([['traffic', 0.1, 'promote']]);
    const versions = (await api('GET', '/v1/models/rel/versions')).body as {
      aliases: Record<string, number>;
    };
    expect(versions.aliases.production).toBe(2);
    const history = (await api('GET', '/v1/models/rel/history')).body as {
      events: { type: string; to?: number }[];
    };
    expect(history.events.at(-1)).toMatchObject({ type: 'promoted', to: 2 });
    // `live` is back to one version and serves the new production.
    expect(await twin.scoreFunction.live()).toMatchObject({ weights: {} });
    const res = await fetch(`${twin.url}/v1/models/rel/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.scoreApiKey },
      body: JSON.stringify({ rows: [{ cpu: 1, memory: 2 }] }),
    });
    expect(((await res.json()) as { version: number }).version).toBe(2);
  }, 240_000);
});
