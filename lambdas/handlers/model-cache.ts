import type { ModelPackage } from '../core/model/manifest.ts';
import type { ArtifactStore, ModelRef, ModelResolver, ResolvedModel } from '../core/ports.ts';
import { type EngineName, type LoadedModel, loadModel } from '../core/scoring.ts';

export interface ServedModel extends LoadedModel {
  readonly name: string;
  readonly version: number;
}

/**
 * Per-process cache of ready-to-serve models. Packages are immutable, so a
 * loaded version is kept for the life of the process; alias resolutions are
 * cached for `aliasTtlMs` so a promotion reaches warm functions within that
 * time. Pinned functions (`MODEL_VERSION`) never consult the alias.
 * A failed load is not cached: the next request tries again.
 */
export class ModelCache {
  readonly #loaded = new Map<string, Promise<ServedModel>>();
  readonly #aliases = new Map<string, { version: number; expires: number }>();

  constructor(
    private readonly deps: {
      readonly resolver: ModelResolver;
      readonly store: ArtifactStore;
      readonly engine?: EngineName;
      readonly wasmDir?: string;
      readonly aliasTtlMs?: number;
      readonly now?: () => number;
    },
  ) {}

  async get(name: string, ref: ModelRef): Promise<ServedModel> {
    // An alias lookup already returns the version's artifact: reuse it instead of a second read.
    const viaAlias = ref.version === undefined ? await this.#aliasVersion(name, ref.alias) : undefined;
    const version = ref.version ?? (viaAlias as { version: number }).version;
    const key = `${name}@${version}`;
    let p = this.#loaded.get(key);
    if (!p) {
      p = this.#load(name, version, viaAlias?.resolved);
      this.#loaded.set(key, p);
      p.catch(() => this.#loaded.delete(key));
    }
    return p;
  }

  async #aliasVersion(
    name: string,
    alias = 'production',
  ): Promise<{ version: number; resolved?: ResolvedModel }> {
    const now = (this.deps.now ?? Date.now)();
    const key = `${name}#${alias}`;
    const hit = this.#aliases.get(key);
    if (hit && hit.expires > now) return { version: hit.version };
    const resolved = await this.deps.resolver.resolve(name, { alias });
    this.#aliases.set(key, { version: resolved.version, expires: now + (this.deps.aliasTtlMs ?? 60_000) });
    return { version: resolved.version, resolved };
  }

  async #load(name: string, version: number, known?: ResolvedModel): Promise<ServedModel> {
    const resolved = known ?? (await this.deps.resolver.resolve(name, { version }));
    const pkg: ModelPackage = await this.deps.store.getPackage(resolved.artifactUri);
    const loaded = await loadModel(pkg, { engine: this.deps.engine, wasmDir: this.deps.wasmDir });
    return { ...loaded, name, version };
  }
}
