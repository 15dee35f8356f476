import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { BOOTSTRAP_ACTOR, bootstrapDefaultModel } from '#app/bootstrap.ts';
import { registerPackage } from '#app/models.ts';
import { readPackageDir, writePackageDir } from '#app/package-dir.ts';
import type { LocalDynamo } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock, unservablePackage } from '../../unit/registry/fixture-package.ts';
import { freshRegistry, startDynalite } from '../registry/harness.ts';

/** The registry use cases of lambdas/app against dynalite and the filesystem store. */
describe('registry use cases on dynalite', () => {
  let db: LocalDynamo;
  let tmp: string;
  beforeAll(async () => {
    db = await startDynalite();
    tmp = await mkdtemp(join(tmpdir(), 'vigil-app-'));
  });
  afterAll(async () => {
    await db.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const setup = async () => {
    const { registry } = await freshRegistry(db, steppingClock());
    const store = new FsArtifactStore({ root: await mkdtemp(join(tmp, 'store-')) });
    return { registry, store };
  };

  describe('package directories', () => {
    it('reads back what it wrote, verified', async () => {
      const pkg = fixturePackage({ name: 'round-trip' });
      const dir = join(tmp, 'pkg-round-trip');
      await writePackageDir(dir, pkg);
      const back = await readPackageDir(dir);
      expect(back.manifest).toEqual(pkg.manifest);
      expect(Buffer.from(back.onnx).equals(Buffer.from(pkg.onnx))).toBe(true);
    });

    it('names the missing file of an incomplete directory', async () => {
      const dir = join(tmp, 'pkg-incomplete');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'manifest.json'), '{}');
      await expect(readPackageDir(dir)).rejects.toMatchObject({
        code: 'BadRequest',
        message: /has no model\.onnx/,
      });
    });

    it('refuses a package whose model.onnx was edited after packaging', async () => {
      const dir = join(tmp, 'pkg-tampered');
      await writePackageDir(dir, fixturePackage({ name: 'tampered' }));
      const bytes = await readFile(join(dir, 'model.onnx'));
      bytes[3] ^= 0x55;
      await writeFile(join(dir, 'model.onnx'), bytes);
      await expect(readPackageDir(dir)).rejects.toThrow(
        /sha256 of model.onnx .* does not match its manifest/,
      );
    });
  });

  describe('registerPackage', () => {
    it('stores the package stamped with its name and version and records where', async () => {
      const { registry, store } = await setup();
      const v = await registerPackage({ registry, store }, fixturePackage({ name: 'cpu' }), {
        actor: 'tester',
        name: 'renamed',
        reason: 'first',
      });
      expect(v).toMatchObject({
        name: 'renamed',
        version: 1,
        approval: 'PendingManualApproval',
        registeredBy: 'tester',
      });
      const stored = await store.getPackage(v.artifactUri);
      expect(stored.manifest).toMatchObject({ name: 'renamed', version: 1 });
    });

    it('refuses a package the scorer could not serve, before allocating a version', async () => {
      const { registry, store } = await setup();
      const wide = unservablePackage();
      await expect(registerPackage({ registry, store }, wide, { actor: 'tester' })).rejects.toThrow(
        /manifest lists 3 features but the ONNX graph reads 2/,
      );
      expect(await registry.listModels()).toEqual([]);
    });

    it('refuses a name that is not a model name', async () => {
      const { registry, store } = await setup();
      await expect(
        registerPackage({ registry, store }, fixturePackage({ name: 'ok' }), {
          actor: 't',
          name: 'Bad/Name',
        }),
      ).rejects.toMatchObject({ code: 'BadRequest' });
      expect(await registry.listModels()).toEqual([]);
    });
  });

  describe('bootstrapDefaultModel', () => {
    it('registers, approves and promotes the package once, then changes nothing', async () => {
      const { registry, store } = await setup();
      const dir = join(tmp, 'pkg-default');
      await writePackageDir(dir, fixturePackage({ name: 'default' }));
      expect(await bootstrapDefaultModel({ registry, store }, dir)).toEqual({
        name: 'default',
        action: 'registered',
        production: 1,
      });
      expect((await registry.getVersion('default', 1)).approval).toBe('Approved');
      const resolved = await registry.resolve('default', {});
      expect(resolved.version).toBe(1);
      expect((await store.getPackage(resolved.artifactUri)).manifest.version).toBe(1);
      const history = await registry.history('default');
      expect(await bootstrapDefaultModel({ registry, store }, dir)).toEqual({
        name: 'default',
        action: 'unchanged',
        production: 1,
      });
      expect(await registry.history('default')).toEqual(history);
      expect((await registry.listVersions('default')).map((v) => v.version)).toEqual([1]);
    });

    it('finishes an interrupted bootstrap and leaves alone a model someone else registered', async () => {
      const a = await setup();
      const dir = join(tmp, 'pkg-default-2');
      await writePackageDir(dir, fixturePackage({ name: 'default' }));
      await registerPackage(a, fixturePackage({ name: 'default' }), { actor: BOOTSTRAP_ACTOR });
      expect(await bootstrapDefaultModel(a, dir)).toMatchObject({ action: 'completed', production: 1 });
      expect((await a.registry.getVersion('default', 1)).approval).toBe('Approved');

      const b = await setup();
      await registerPackage(b, fixturePackage({ name: 'default' }), { actor: 'alice' });
      expect(await bootstrapDefaultModel(b, dir)).toEqual({ name: 'default', action: 'unchanged' });
      expect((await b.registry.getVersion('default', 1)).approval).toBe('PendingManualApproval');
      expect(await b.registry.listAliases('default')).toEqual([]);
    });
  });
});
