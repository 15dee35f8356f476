import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import * as uc from '#app/models.ts';
import { zipPackage } from '#core/model/package-zip.ts';
import type { LocalDynamo } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';
import { freshRegistry, startDynalite } from './harness.ts';

describe('register / approve / reject use cases (dynalite + filesystem store)', () => {
  let db: LocalDynamo;
  let tmp: string;
  beforeAll(async () => {
    db = await startDynalite();
    tmp = await mkdtemp(join(tmpdir(), 'vigil-uc-'));
  });
  afterAll(async () => {
    await db.close();
    await rm(tmp, { recursive: true, force: true });
  });
  const deps = async () => {
    const { registry } = await freshRegistry(db, steppingClock());
    return { registry, store: new FsArtifactStore({ root: await mkdtemp(join(tmp, 's-')) }) };
  };
  const ctx = { actor: 'key-1', reason: 'r' };

  it('answers the same package with the existing version, and registers a new one with force', async () => {
    const d = await deps();
    const pkg = fixturePackage({ name: 'm' });
    const first = await uc.register(d, pkg, ctx);
    expect(first).toMatchObject({ created: true, version: { version: 1, registeredBy: 'key-1' } });
    const again = await uc.registerZip(d, 'm', zipPackage(pkg), ctx);
    expect(again).toMatchObject({ created: false, version: { version: 1 } });
    expect((await uc.register(d, pkg, { ...ctx, force: true })).version.version).toBe(2);
    expect((await d.registry.history('m')).filter((e) => e.type === 'registered')).toHaveLength(2);
  });

  it('treats a changed threshold, or another model name, as a different package', async () => {
    const d = await deps();
    const pkg = fixturePackage({ name: 'm' });
    await uc.register(d, pkg, ctx);
    const tuned = { ...pkg, manifest: { ...pkg.manifest, threshold: 0.7 } };
    expect(await uc.register(d, tuned, ctx)).toMatchObject({ created: true, version: { version: 2 } });
    expect(await uc.register(d, pkg, { ...ctx, name: 'other' })).toMatchObject({
      created: true,
      version: { name: 'other', version: 1 },
    });
  });

  it('needs a reason to approve or reject, and records it', async () => {
    const d = await deps();
    await uc.register(d, fixturePackage({ name: 'm' }), ctx);
    await uc.register(d, fixturePackage({ name: 'm', seed: 2 }), ctx);
    for (const f of [uc.approve, uc.reject]) {
      await expect(f(d, 'm', 1, { actor: 'key-1' })).rejects.toThrow(/A reason is required/);
      await expect(f(d, 'm', 1, { actor: 'key-1', reason: '  ' })).rejects.toThrow(/A reason is required/);
    }
    expect(await uc.reject(d, 'm', 2, { actor: 'key-2', reason: 'worse recall' })).toMatchObject({
      approval: 'Rejected',
      decidedBy: 'key-2',
      decisionReason: 'worse recall',
    });
    expect((await uc.approve(d, 'm', 1, { actor: 'key-2', reason: 'ok' })).approval).toBe('Approved');
  });

  it('refuses uploads when no staging area is configured', async () => {
    const d = await deps();
    await expect(uc.createUpload(d, 'm')).rejects.toThrow(/no package staging area/);
  });
});
