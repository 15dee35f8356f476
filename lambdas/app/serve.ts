import { IntegrityError, UnsupportedModelError, VigilError } from '#core/errors.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import type { ArtifactStore, ModelRef, ModelResolver, ResolvedModel } from '#core/ports.ts';
import { type EngineName, type LoadedModel, loadModel } from '#core/scoring.ts';

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
  readonly #approvals = new Map<string, { approved: boolean; approval?: string; expires: number }>();

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
    if (ref.version !== undefined && ref.approvedOnly) await this.#requireApproved(name, ref.version);
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

  /**
   * The version `alias` resolved to at the last lookup, if cached (expired or not), without any
   * read: what an unpinned function was serving when a request failed.
   */
  peekAliasVersion(name: string, alias = 'production'): number | undefined {
    return this.#aliases.get(`${name}#${alias}`)?.version;
  }

  /**
   * Forgets every alias resolution, so the next request of each model reads the registry again:
   * what a promotion needs so warm instances stop serving the old model before the TTL ends.
   */
  invalidateAliases(): void {
    this.#aliases.clear();
    this.#approvals.clear();
  }

  /** Caller-chosen versions must be Approved; checked with the same TTL as alias lookups. */
  async #requireApproved(name: string, version: number): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const key = `${name}@${version}`;
    let hit = this.#approvals.get(key);
    if (!hit || hit.expires <= now) {
      const r = await this.deps.resolver.resolve(name, { version });
      // Resolvers without approval tracking (a single package on the CLI) serve what they have.
      hit = {
        approved: r.approval === undefined || r.approval === 'Approved',
        approval: r.approval,
        expires: now + (this.deps.aliasTtlMs ?? 60_000),
      };
      this.#approvals.set(key, hit);
    }
    if (!hit.approved) {
      throw new VigilError('Forbidden', `Version ${version} of model '${name}' is not approved for serving`, {
        model: name,
        version,
        approval: hit.approval,
      });
    }
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
    // Unknown model/version is the caller's mistake (404) and propagates as is.
    const resolved = known ?? (await this.deps.resolver.resolve(name, { version }));
    try {
      const pkg: ModelPackage = await this.deps.store.getPackage(resolved.artifactUri);
      checkAgainstRegistry(pkg, resolved);
      const loaded = await loadModel(pkg, { engine: this.deps.engine, wasmDir: this.deps.wasmDir });
      return { ...loaded, name, version };
    } catch (cause) {
      // A graph Vigil does not support is the model's owner's to fix: the typed refusal
      // (op types, what is supported) reaches the caller as a 422, as at registration.
      if (cause instanceof UnsupportedModelError) throw cause;
      // A missing, corrupt or edited package is our fault, not the caller's: a 500 with a
      // generic message (details, such as artifact paths and hashes, go to the log only).
      throw new ModelUnavailableError(name, version, cause);
    }
  }
}

/** A registered version whose package cannot be served. Deliberately not a VigilError. */
export class ModelUnavailableError extends Error {
  constructor(model: string, version: number, cause: unknown) {
    super(`model ${model} version ${version} cannot be loaded: ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
    this.name = 'ModelUnavailableError';
  }
}

/**
 * The package must be the one that was registered: model.onnx's sha256 (the manifest's own
 * hash already matched the bytes in the store) and the manifest's served fields.
 */
function checkAgainstRegistry(pkg: ModelPackage, r: ResolvedModel): void {
  const m = pkg.manifest;
  if (m.sha256 !== r.sha256) {
    throw new IntegrityError('model.onnx differs from the registered version', {
      registered: r.sha256,
      found: m.sha256,
    });
  }
  const s = r.summary;
  if (
    s &&
    (s.algorithm !== m.algorithm ||
      s.threshold !== m.threshold ||
      s.features.length !== m.features.length ||
      s.features.some((f, i) => f !== m.features[i]))
  ) {
    throw new IntegrityError(
      'manifest.json differs from the registered version (features, threshold or algorithm)',
    );
  }
}

/**
 * A model cache serving one package under its own name, whatever version or alias is asked
 * for: `vigil score` / `vigil explain` on a package directory, and tests of the request cores.
 */
export function singlePackageCache(pkg: ModelPackage, engine?: EngineName): ModelCache {
  const name = pkg.manifest.name;
  const version = pkg.manifest.version || 1;
  const resolver: ModelResolver = {
    async resolve() {
      return { name, version, artifactUri: 'package://cli', sha256: pkg.manifest.sha256 };
    },
  };
  const store: ArtifactStore = {
    async putPackage() {
      throw new Error('read-only');
    },
    async getPackage() {
      return pkg;
    },
  };
  return new ModelCache({ resolver, store, engine });
}
