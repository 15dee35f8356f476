import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPackageDir } from '../../../bin/commands/models.ts';
import { ModelNotFoundError } from '../../../lambdas/core/errors.ts';
import type { ModelPackage } from '../../../lambdas/core/model/manifest.ts';
import type { ArtifactStore, ModelRef, ModelResolver } from '../../../lambdas/core/ports.ts';
import { ModelCache } from '../../../lambdas/handlers/model-cache.ts';

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
});
