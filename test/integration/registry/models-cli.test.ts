import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { BOOTSTRAP_ACTOR, bootstrapDefaultModel } from '#app/bootstrap.ts';
import { registerPackage } from '#app/models.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { modelsCommand } from '../../../bin/commands/models.ts';
import type { LocalDynamo } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';
import { freshRegistry, startDynalite } from './harness.ts';

async function writePackage(dir: string, pkg: ModelPackage): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), pkg.onnx);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(pkg.manifest));
  return dir;
}

describe('vigil models (CLI) on dynalite and the filesystem store', () => {
  let db: LocalDynamo;
  let tmp: string;
  beforeAll(async () => {
    db = await startDynalite();
    tmp = await mkdtemp(join(tmpdir(), 'vigil-cli-'));
  });
  afterAll(async () => {
    await db.close();
    await rm(tmp, { recursive: true, force: true });
  });

  async function setup() {
    const { registry } = await freshRegistry(db, steppingClock());
    const root = await mkdtemp(join(tmp, 'store-'));
    const store = new FsArtifactStore({ root });
    let stdout = '';
    let stderr = '';
    const run = async (...argv: string[]) => {
      stdout = '';
      stderr = '';
      const code = await modelsCommand(argv, {
        registry,
        store,
        actor: 'tester',
        out: (t) => {
          stdout += t;
        },
        err: (t) => {
          stderr += t;
        },
      });
      return { code, stdout, stderr };
    };
    return { registry, store, run };
  }

  it('registers, approves, promotes and rolls back through the CLI', async () => {
    const { run, registry, store } = await setup();
    const dir = await writePackage(join(tmp, 'pkg-flow'), fixturePackage({ name: 'cpu-model' }));
    let r = await run('register', '--package', dir, '--reason', 'first');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Registered cpu-model version 1 \(PendingManualApproval\) at file:\/\//);
    r = await run('register', '--package', dir, '--name', 'cpu-model', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'cpu-model', version: 2 });

    // The stored package is stamped with its version and still verifies.
    const stored = await store.getPackage((await registry.getVersion('cpu-model', 2)).artifactUri);
    expect(stored.manifest.version).toBe(2);

    expect((await run('approve', 'cpu-model', '1', '--reason', 'ok')).stdout).toBe(
      'cpu-model version 1 is now Approved\n',
    );
    expect((await run('approve', 'cpu-model', '2')).code).toBe(0);
    expect((await run('promote', 'cpu-model', '--version', '1')).stdout).toBe(
      'cpu-model production moved: (unset) -> version 1 (revision 1)\n',
    );
    expect((await run('promote', 'cpu-model', '--alias', 'production', '--version', '2')).code).toBe(0);
    expect((await run('rollback', 'cpu-model')).stdout).toBe(
      'cpu-model production rolled back: version 2 -> version 1 (revision 3)\n',
    );

    r = await run('versions', 'cpu-model');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+APPROVAL\s+ALIASES\s+REGISTERED\s+BY\s+SHA256\s+URI$/);
    expect(lines[1]).toMatch(/^1\s+Approved\s+production\s+\S+\s+tester\s/);
    expect(lines[2]).toMatch(/^2\s+Approved\s+\S+\s+tester\s/);

    r = await run('history', 'cpu-model', '--json');
    const events = JSON.parse(r.stdout).events as { type: string; actor: string }[];
    expect(events.map((e) => e.type)).toEqual([
      'registered',
      'registered',
      'approved',
      'approved',
      'alias-set',
      'alias-set',
      'rolled-back',
    ]);
    expect(events.every((e) => e.actor === 'tester')).toBe(true);
    expect((await run('history', 'cpu-model', '--alias', 'production')).stdout).toMatch(
      /rolled-back\s+tester\s+production: 2 -> 1/,
    );

    r = await run('list');
    expect(r.stdout).toMatch(/^MODEL\s+LATEST\s+ALIASES\s+CREATED\ncpu-model\s+2\s+production=1\s/);
  });

  it('refuses to promote an unapproved version with a clear message and exit code 1', async () => {
    const { run } = await setup();
    const dir = await writePackage(join(tmp, 'pkg-unapproved'), fixturePackage({ name: 'mem-model' }));
    await run('register', '--package', dir);
    const r = await run('promote', 'mem-model', '--version', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: Version 1 of 'mem-model' is PendingManualApproval; only Approved versions can take alias 'production'\n",
    );
    const unknown = await run('promote', 'mem-model', '--version', '9');
    expect(unknown).toMatchObject({ code: 1, stderr: "error: Model 'mem-model' has no version 9\n" });
  });

  it('refuses a tampered package before allocating a version', async () => {
    const { run, registry } = await setup();
    const pkg = fixturePackage({ name: 'bad-model' });
    const dir = await writePackage(join(tmp, 'pkg-tampered'), pkg);
    const bytes = await readFile(join(dir, 'model.onnx'));
    bytes[3] ^= 0x55;
    await writeFile(join(dir, 'model.onnx'), bytes);
    const r = await run('register', '--package', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sha256 of model.onnx .* does not match its manifest/);
    expect(await registry.listModels()).toEqual([]);
  });

  it('refuses a package the scorer could not serve before allocating a version', async () => {
    const { run, registry } = await setup();
    const good = fixturePackage({ name: 'wide-model' });
    // The manifest claims three features; the graph reads two.
    const ref = good.manifest.reference.features.cpu;
    const pkg = {
      ...good,
      manifest: {
        ...good.manifest,
        features: ['cpu', 'memory', 'disk'],
        reference: { ...good.manifest.reference, features: { cpu: ref, memory: ref, disk: ref } },
      },
    };
    const dir = await writePackage(join(tmp, 'pkg-wide'), pkg);
    const r = await run('register', '--package', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/manifest lists 3 features but the ONNX graph reads 2/);
    expect(await registry.listModels()).toEqual([]);
  });

  it('answers usage mistakes with exit code 2 and the usage text', async () => {
    const { run } = await setup();
    for (const argv of [
      [],
      ['frobnicate'],
      ['approve', 'x'],
      ['approve', 'x', 'one'],
      ['promote', 'x'],
      ['list', '--bogus'],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stdout + r.stderr).toMatch(/Usage: vigil models/);
    }
    expect((await run('--help')).code).toBe(0);
  });

  it('reports an unknown model with exit code 1', async () => {
    const { run } = await setup();
    expect(await run('versions', 'ghost')).toMatchObject({
      code: 1,
      stderr: "error: Model 'ghost' does not exist\n",
    });
  });

  describe('bootstrapDefaultModel', () => {
    it('registers, approves and promotes the default package once, then changes nothing', async () => {
      const { registry, store } = await setup();
      const dir = await writePackage(join(tmp, 'pkg-default'), fixturePackage({ name: 'default' }));
      expect(await bootstrapDefaultModel({ registry, store }, dir)).toEqual({
        name: 'default',
        action: 'registered',
        production: 1,
      });
      const resolved = await registry.resolve('default', {});
      expect(resolved.version).toBe(1);
      expect((await store.getPackage(resolved.artifactUri)).manifest.version).toBe(1);
      const historyAfterFirst = await registry.history('default');
      expect(await bootstrapDefaultModel({ registry, store }, dir)).toEqual({
        name: 'default',
        action: 'unchanged',
        production: 1,
      });
      expect(await registry.history('default')).toEqual(historyAfterFirst);
      expect((await registry.listVersions('default')).map((v) => v.version)).toEqual([1]);
    });

    it('finishes an interrupted bootstrap (registered but not promoted)', async () => {
      const { registry, store } = await setup();
      const dir = await writePackage(join(tmp, 'pkg-interrupted'), fixturePackage({ name: 'default' }));
      await registerPackage({ registry, store }, fixturePackage({ name: 'default' }), {
        actor: BOOTSTRAP_ACTOR,
      });
      expect(await bootstrapDefaultModel({ registry, store }, dir)).toMatchObject({
        action: 'completed',
        production: 1,
      });
      expect((await registry.getVersion('default', 1)).approval).toBe('Approved');
    });

    it('leaves alone a model that someone else registered', async () => {
      const { registry, store } = await setup();
      const dir = await writePackage(join(tmp, 'pkg-other'), fixturePackage({ name: 'default' }));
      await registerPackage({ registry, store }, fixturePackage({ name: 'default' }), { actor: 'alice' });
      expect(await bootstrapDefaultModel({ registry, store }, dir)).toEqual({
        name: 'default',
        action: 'unchanged',
      });
      expect((await registry.getVersion('default', 1)).approval).toBe('PendingManualApproval');
      expect(await registry.listAliases('default')).toEqual([]);
    });
  });
});
