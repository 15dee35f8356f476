import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelPackage } from '#core/model/manifest.ts';
import { modelsCli } from '../../bin/commands/models-cli.ts';
import { startTwin, type Twin } from '../../local/twin.ts';
import { fixturePackage } from '../unit/registry/fixture-package.ts';

async function writePackage(dir: string, pkg: ModelPackage): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.onnx'), pkg.onnx);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(pkg.manifest));
  return dir;
}

describe('the twin’s score function versions and live alias (model releases, serving side)', () => {
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
  const score = async (n = 1) => {
    const res = await fetch(`${twin.url}/v1/models/rel-model/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.scoreApiKey },
      body: JSON.stringify({ rows: Array.from({ length: n }, (_, i) => ({ cpu: i, memory: 2 * i })) }),
    });
    return { status: res.status, body: (await res.json()) as { version?: number } };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-rel-'));
    twin = await startTwin({
      port: 0,
      dataDir: dir,
      inMemory: true,
      driftEveryMs: 0,
      releaseCacheSeconds: 1,
    });
    await vigil(
      'register',
      '--package',
      await writePackage(path.join(dir, 'a'), fixturePackage({ name: 'rel-model', seed: 3 })),
    );
    await vigil(
      'register',
      '--package',
      await writePackage(path.join(dir, 'b'), fixturePackage({ name: 'rel-model', seed: 4 })),
      '--force',
    );
    await vigil('approve', 'rel-model', '1', '--reason', 'test');
    await vigil('approve', 'rel-model', '2', '--reason', 'test');
    await vigil('promote', 'rel-model', '--version', '1');
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves everything from version 1, unpinned, when no release runs', async () => {
    twin.scoreFunction.resetRoutingCounts();
    for (let i = 0; i < 5; i++) expect(await score()).toMatchObject({ status: 200, body: { version: 1 } });
    expect(twin.scoreFunction.routingCounts()).toEqual({ '1': 5 });
    expect(await twin.scoreFunction.live()).toMatchObject({ primaryVersion: '1', weights: {} });
  });

  it('routes a weight to a pinned green with its own environment; blue keeps the production alias', async () => {
    const live = await twin.scoreFunction.live();
    const green = await twin.scoreFunction.publishPinned({ modelVersion: 2, codeSha256: live.codeSha256 });
    expect(green).toEqual({ functionVersion: '2', modelVersion: 2 });
    await twin.scoreFunction.route('2', 0.3, live.revisionId);
    twin.scoreFunction.resetRoutingCounts();
    const from = new Date(Date.now() - 1);
    const served = { 1: 0, 2: 0 } as Record<number, number>;
    for (let i = 0; i < 60; i++) {
      const r = await score(2);
      expect(r.status).toBe(200);
      served[r.body.version as number] = (served[r.body.version as number] ?? 0) + 1;
    }
    const counts = twin.scoreFunction.routingCounts();
    // Every request green served answered with the candidate, every one blue served with production.
    expect(counts).toEqual({ '1': served[1], '2': served[2] });
    expect(served[2]).toBeGreaterThan(5);
    expect(served[2]).toBeLessThan(40);

    const r = await twin.releaseMetrics.read({
      model: 'rel-model',
      blue: { functionVersion: '1', modelVersion: 1 },
      green,
      from,
      to: new Date(Date.now() + 1),
    });
    expect(r.blue).toMatchObject({
      invocations: served[1],
      rowsScored: 2 * (served[1] as number),
      errors: 0,
    });
    expect(r.green).toMatchObject({
      invocations: served[2],
      rowsScored: 2 * (served[2] as number),
      errors: 0,
    });
    expect(r.green.p99DurationMs).toBeGreaterThan(0);
  });

  it('counts a crashing version’s Errors and answers 500 as API Gateway does', async () => {
    twin.scoreFunction.inject('2', { crash: true });
    const from = new Date(Date.now() - 1);
    twin.scoreFunction.resetRoutingCounts();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await score()).status);
    const crashed = twin.scoreFunction.routingCounts()['2'] ?? 0;
    expect(crashed).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 500)).toHaveLength(crashed);
    const r = await twin.releaseMetrics.read({
      model: 'rel-model',
      blue: { functionVersion: '1', modelVersion: 1 },
      green: { functionVersion: '2', modelVersion: 2 },
      from,
      to: new Date(Date.now() + 1),
    });
    expect(r.green.errors).toBe(crashed);
    expect(r.blue.errors).toBe(0);
    twin.scoreFunction.inject('2', {});
  });

  it('sends zero requests to green once its weight is 0, and retires it', async () => {
    await twin.scoreFunction.route('2', 0);
    twin.scoreFunction.resetRoutingCounts();
    for (let i = 0; i < 20; i++) expect((await score()).body.version).toBe(1);
    expect(twin.scoreFunction.routingCounts()).toEqual({ '1': 20 });
    await twin.scoreFunction.retire('2');
    expect(twin.scoreFunction.versions().map((v) => v.functionVersion)).toEqual(['1']);
  });

  it('shadow phase: blue scores the candidate in-process, returns only its own result, captures both', async () => {
    const root = await import('#runtime/root.ts');
    const now = new Date().toISOString();
    const release = await root.releases().begin({
      model: 'rel-model',
      releaseId: 'shadow-1',
      candidateVersion: 2,
      baselineVersion: 1,
      policy: 'canary10-15m',
      phase: 'shadow',
      weight: 0,
      step: 0,
      startedAt: now,
      updatedAt: now,
      startedBy: 'api:test',
      judgements: [],
    });
    // Warm blue sees the release once its cached "no release" expires (the release TTL, 1 s here).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const from = new Date(Date.now() - 1);
    twin.scoreFunction.resetRoutingCounts();
    for (let i = 0; i < 10; i++) expect((await score(3)).body.version).toBe(1);
    expect(twin.scoreFunction.routingCounts()).toEqual({ '1': 10 });
    const to = new Date(Date.now() + 1);
    const r = await twin.releaseMetrics.read({
      model: 'rel-model',
      blue: { functionVersion: '1', modelVersion: 1 },
      green: { functionVersion: '2', modelVersion: 2 },
      from,
      to,
    });
    expect(r.green.shadow).toMatchObject({ rows: 30, errors: 0 });
    expect(r.green.shadow?.addedP99Ms).toBeGreaterThan(0);
    expect(r.green.rowsScored).toBe(0);
    expect(r.blue.rowsScored).toBe(30);
    const captured = await root.captureReader().readWindow('rel-model', from, to);
    expect(captured.length).toBe(30);
    expect(captured.every((c) => c.version === 1 && c.shadow?.version === 2)).toBe(true);

    // Promotion as a release machine does it: the registry alias first, then the record; warm blue
    // re-resolves within the release cache's TTL (1 s here), not the alias cache's 60 s.
    // (A hand promotion is refused while a release holds the model, so move it as Promote does.)
    const alias = await root.registry().getAlias('rel-model', 'production');
    await root.registry().writeAlias('rel-model', 'production', {
      type: 'promoted',
      to: 2,
      expectedRevision: alias?.revision ?? 0,
      actor: 'release:shadow-1',
      reason: 'test: the release machine promotes',
    });
    expect((await score()).body.version).toBe(1); // alias still cached
    await root.releases().update('rel-model', 'shadow-1', release.revision, { phase: 'promoted' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await score(); // the request that sees the record change drops the alias cache
    expect((await score()).body.version).toBe(2);
  });
});
