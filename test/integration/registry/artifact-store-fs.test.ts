import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { VigilError } from '#core/errors.ts';
import { fixturePackage } from '../../unit/registry/fixture-package.ts';

async function errorOf(p: Promise<unknown>): Promise<VigilError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VigilError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('FsArtifactStore', () => {
  let root: string;
  let store: FsArtifactStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'vigil-store-'));
    store = new FsArtifactStore({ root });
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('round-trips a package under <root>/<name>/<version>/ as a file:// URI', async () => {
    const pkg = fixturePackage({ name: 'cpu-model' });
    const uri = await store.putPackage('cpu-model', 3, pkg);
    expect(uri).toBe(`file://${join(root, 'cpu-model', '3')}`);
    const dir = fileURLToPath(uri);
    expect(new Uint8Array(await readFile(join(dir, 'model.onnx')))).toEqual(pkg.onnx);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).toEqual(pkg.manifest);
    const back = await store.getPackage(uri);
    expect(back.manifest).toEqual(pkg.manifest);
    expect(new Uint8Array(back.onnx)).toEqual(pkg.onnx);
  });

  it('refuses a package whose model.onnx was tampered with after storing', async () => {
    const uri = await store.putPackage('cpu-model', 1, fixturePackage());
    const file = join(fileURLToPath(uri), 'model.onnx');
    const bytes = await readFile(file);
    bytes[0] ^= 0xff;
    await writeFile(file, bytes);
    const err = await errorOf(store.getPackage(uri));
    expect(err.code).toBe('IntegrityError');
    expect(err.details).toMatchObject({ expected: fixturePackage().manifest.sha256 });
  });

  it('refuses to store a package whose sha256 does not match its manifest', async () => {
    const pkg = fixturePackage();
    const bad = { manifest: { ...pkg.manifest, sha256: 'f'.repeat(64) }, onnx: pkg.onnx };
    expect((await errorOf(store.putPackage('cpu-model', 1, bad))).code).toBe('IntegrityError');
    expect((await errorOf(store.getPackage(store.uriFor('cpu-model', 1)))).code).toBe('NotFound');
  });

  it('refuses a stored manifest that fails the schema, with the zod message', async () => {
    const uri = await store.putPackage('cpu-model', 1, fixturePackage());
    const file = join(fileURLToPath(uri), 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8'));
    m.features = [];
    await writeFile(file, JSON.stringify(m));
    const err = await errorOf(store.getPackage(uri));
    expect(err.code).toBe('InvalidModel');
    expect(err.message).toMatch(/at 'features'/);
  });

  it('is idempotent for identical content but never overwrites a version with different bytes', async () => {
    const uri = await store.putPackage('cpu-model', 1, fixturePackage({ seed: 1 }));
    expect(await store.putPackage('cpu-model', 1, fixturePackage({ seed: 1 }))).toBe(uri);
    const err = await errorOf(store.putPackage('cpu-model', 1, fixturePackage({ seed: 2 })));
    expect(err.code).toBe('Conflict');
    expect((await store.getPackage(uri)).manifest.training.seed).toBe(1);
  });

  it('refuses URIs outside its root and non-file URIs', async () => {
    expect((await errorOf(store.getPackage('file:///etc/'))).code).toBe('BadRequest');
    expect((await errorOf(store.getPackage(`file://${root}/../x/1`))).code).toBe('BadRequest');
    expect((await errorOf(store.getPackage('s3://bucket/models/x/1/'))).code).toBe('BadRequest');
  });
});
