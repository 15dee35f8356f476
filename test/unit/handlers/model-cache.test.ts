import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPackageDir } from '#app/package-dir.ts';
import { ModelCache, ModelUnavailableError } from '#app/serve.ts';
import { ModelNotFoundError } from '#core/errors.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import type { ArtifactStore, ModelRef, ModelResolver } from '#core/ports.ts';

/** An in-memory registry whose production alias the test moves, counting lookups. */
function fakeRegistry(pkg: ModelPackage) {
  const state = { production: 1, resolves: [] as ModelRef[], reads: 0 };
  const resolver: ModelResolver = {
    async resolve(name, ref) {
      state.resolves.push(ref);
      if (name !== 'default') throw new ModelNotFoundError(name);
      const version = ref.version ?? state.production;
      return { name, version, artifactUri: `mem://${version}`, sha256: pkg.manifest.sha256 };
    },
  };
  const store: ArtifactStore = {
    putPackage: async () => 'mem://x',
    getPackage: async () => {
      state.reads++;
      return pkg;
    },
  };
  return { state, resolver, store };
}

describe('ModelCache', () => {
  let pkg: ModelPackage;
  beforeAll(async () => {
    pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
  });

  it('loads a version once and resolves the alias with a single registry read', async () => {
    const { state, resolver, store } = fakeRegistry(pkg);
    const cache = new ModelCache({ resolver, store });
    const a = await cache.get('default', { alias: 'production' });
    const b = await cache.get('default', { alias: 'production' });
    expect(a).toBe(b);
    expect(state.resolves).toEqual([{ alias: 'production' }]);
    expect(state.reads).toBe(1);
  });

  it('follows a promotion once the alias cache entry expires', async () => {
    const { state, resolver, store } = fakeRegistry(pkg);
    let now = 0;
    const cache = new ModelCache({ resolver, store, aliasTtlMs: 1000, now: () => now });
    expect((await cache.get('default', {})).version).toBe(1);
    state.production = 2;
    now = 500;
    expect((await cache.get('default', {})).version).toBe(1);
    now = 1500;
    expect((await cache.get('default', {})).version).toBe(2);
  });

  it('does not cache a failed load', async () => {
    const { resolver, store } = fakeRegistry(pkg);
    let fail = true;
    const flaky: ArtifactStore = {
      ...store,
      getPackage: async (uri) => {
        if (fail) throw new Error('transient');
        return store.getPackage(uri);
      },
    };
    const cache = new ModelCache({ resolver, store: flaky });
    await expect(cache.get('default', { version: 3 })).rejects.toThrow('transient');
    fail = false;
    expect((await cache.get('default', { version: 3 })).version).toBe(3);
  });

  it('refuses a package whose model.onnx is not the registered one (as a server fault, not a 4xx)', async () => {
    const { resolver, store } = fakeRegistry(pkg);
    const lying: ModelResolver = {
      resolve: async (name, ref) => ({ ...(await resolver.resolve(name, ref)), sha256: 'f'.repeat(64) }),
    };
    const cache = new ModelCache({ resolver: lying, store });
    const err = await cache.get('default', { version: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelUnavailableError);
    expect(String((err as Error).message)).toMatch(/differs from the registered version/);
  });

  it('refuses a manifest edited after registration (threshold changed)', async () => {
    const { resolver, store } = fakeRegistry(pkg);
    const registered: ModelResolver = {
      resolve: async (name, ref) => ({
        ...(await resolver.resolve(name, ref)),
        summary: {
          algorithm: pkg.manifest.algorithm,
          features: pkg.manifest.features,
          threshold: pkg.manifest.threshold,
        },
      }),
    };
    const edited: ArtifactStore = {
      ...store,
      getPackage: async () => ({ ...pkg, manifest: { ...pkg.manifest, threshold: 0.01 } }),
    };
    await expect(
      new ModelCache({ resolver: registered, store: edited }).get('default', { version: 1 }),
    ).rejects.toThrow(/manifest.json differs/);
    // The untouched package passes the same check.
    expect(
      (await new ModelCache({ resolver: registered, store }).get('default', { version: 1 })).version,
    ).toBe(1);
  });

  it('lets an unknown model through as the 404 it is', async () => {
    const { resolver, store } = fakeRegistry(pkg);
    await expect(new ModelCache({ resolver, store }).get('nope', { version: 1 })).rejects.toThrow(
      ModelNotFoundError,
    );
  });

  it('serves a caller-chosen version only once it is Approved', async () => {
    const { resolver, store } = fakeRegistry(pkg);
    let approval: 'PendingManualApproval' | 'Approved' | 'Rejected' = 'PendingManualApproval';
    const registry: ModelResolver = {
      resolve: async (name, ref) => ({ ...(await resolver.resolve(name, ref)), approval }),
    };
    let now = 0;
    const cache = new ModelCache({ resolver: registry, store, aliasTtlMs: 1000, now: () => now });
    await expect(cache.get('default', { version: 2, approvedOnly: true })).rejects.toMatchObject({
      code: 'Forbidden',
      status: 403,
    });
    // A pinned release function asks without approvedOnly and is served.
    expect((await cache.get('default', { version: 2 })).version).toBe(2);
    approval = 'Approved';
    now = 2000;
    expect((await cache.get('default', { version: 2, approvedOnly: true })).version).toBe(2);
    approval = 'Rejected';
    now = 4000;
    await expect(cache.get('default', { version: 2, approvedOnly: true })).rejects.toMatchObject({
      status: 403,
    });
  });
});
