import { VigilError } from '#core/errors.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { withVersion } from '#core/model/package-io.ts';
import { unzipPackage } from '#core/model/package-zip.ts';
import type { ArtifactStore, PackageStaging, UploadTicket } from '#core/ports.ts';
import {
  aliasAt,
  assertAliasName,
  assertCanTakeAlias,
  assertModelName,
  assertVersionNumber,
  DEFAULT_POLICY,
  type RegistryPolicy,
  revisionConflict,
  rollbackTarget,
  summarizeManifest,
} from '#core/registry/rules.ts';
import type {
  AliasMove,
  AliasState,
  ChangeContext,
  HistoryEvent,
  ModelRegistry,
  ModelSummary,
  ModelVersion,
} from '#core/registry/types.ts';
import type { ReleaseStore } from '#core/release/ports.ts';
import { checkServable } from '#core/scoring.ts';
import { assertNoRelease } from './release-guard.ts';

/**
 * The registry's use cases (DESIGN.md §6), as plain functions over ports. The
 * HTTP API (`handlers/models.ts`), the twin's bootstrap, the CLI (through the
 * API) and later the retraining and release machines all call these, so a rule
 * is written once: the registry adapter only stores, atomically.
 */
export interface ModelsDeps {
  readonly registry: ModelRegistry;
  readonly store: ArtifactStore;
  /** Staged uploads (presigned S3 PUTs, or the twin's own upload route); absent = no uploads. */
  readonly staging?: PackageStaging;
  /** @default DEFAULT_POLICY (`production` takes only Approved versions) */
  readonly policy?: RegistryPolicy;
  /** Model releases: while one holds a model, `production` is not moved by hand. Absent = no check. */
  readonly releases?: Pick<ReleaseStore, 'active'>;
}

/** Who changes something and why; `actor` is the API key id the authorizer vouched for. */
export type Change = ChangeContext;

/** Options of {@link register}. */
export interface RegisterOptions extends ChangeContext {
  /** Registered under this name instead of the manifest's. */
  readonly name?: string;
  /** Register a new version even when the same package is already registered. @default false */
  readonly force?: boolean;
}

/** What {@link register} did: `created` is false when the same package was already registered. */
export interface Registration {
  readonly version: ModelVersion;
  readonly created: boolean;
}

/**
 * The same package, for de-duplication: the same model.onnx bytes (sha256) and the same served
 * manifest fields. Metrics or lineage alone do not make a new model.
 */
function samePackage(v: ModelVersion, pkg: ModelPackage): boolean {
  const s = summarizeManifest(pkg.manifest);
  return (
    v.sha256 === pkg.manifest.sha256 &&
    v.summary.algorithm === s.algorithm &&
    v.summary.threshold === s.threshold &&
    v.summary.features.join('\u0000') === s.features.join('\u0000')
  );
}

/**
 * Registers a verified package: refuses one the scorer cannot serve, answers
 * with the existing version when the same package is already registered
 * (unless `force`), else the registry allocates a number, the store receives
 * the package stamped with name and version, the registry records the URI.
 * A failed upload leaves a gap in the numbering, never a dangling version.
 * @throws VigilError BadRequest | InvalidModel | UnsupportedModel
 */
export async function register(
  deps: Pick<ModelsDeps, 'registry' | 'store'>,
  pkg: ModelPackage,
  opts: RegisterOptions,
): Promise<Registration> {
  const name = opts.name ?? pkg.manifest.name;
  assertModelName(name);
  // A package the scorer cannot serve (bad graph, features or outputs that disagree with the
  // manifest) is refused before it gets a version number.
  checkServable(pkg);
  if (!opts.force) {
    const existing = (await versionsOrNone(deps.registry, name)).find((v) => samePackage(v, pkg));
    if (existing) return { version: existing, created: false };
  }
  const named: ModelPackage = { manifest: { ...pkg.manifest, name }, onnx: pkg.onnx };
  const version = await deps.registry.register({
    name,
    sha256: pkg.manifest.sha256,
    summary: summarizeManifest(pkg.manifest),
    metrics: pkg.manifest.metrics,
    lineage: { dataWindow: pkg.manifest.training.window, dataSha256: pkg.manifest.training.dataSha256 },
    actor: opts.actor,
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    store: (n) => deps.store.putPackage(name, n, withVersion(named, n)),
  });
  return { version, created: true };
}

/** {@link register}, answering only the version (new or existing). */
export async function registerPackage(
  deps: Pick<ModelsDeps, 'registry' | 'store'>,
  pkg: ModelPackage,
  opts: RegisterOptions,
): Promise<ModelVersion> {
  return (await register(deps, pkg, opts)).version;
}

/** Registers a zipped package (`model.onnx` + `manifest.json`) under `model`. */
export async function registerZip(
  deps: ModelsDeps,
  model: string,
  zip: Uint8Array,
  opts: ChangeContext & { readonly force?: boolean },
): Promise<Registration> {
  return register(deps, unzipPackage(zip, `upload for '${model}'`), { ...opts, name: model });
}

/**
 * Registers a package staged earlier through {@link createUpload} (or copied to the staging
 * prefix by a pipeline).
 * @throws VigilError BadRequest (not a staged URI, no staging configured) | NotFound
 */
export async function registerStaged(
  deps: ModelsDeps,
  model: string,
  uri: string,
  opts: ChangeContext & { readonly force?: boolean },
): Promise<Registration> {
  const staging = requireStaging(deps);
  const zip = await staging.read(uri);
  return register(deps, unzipPackage(zip, uri), { ...opts, name: model });
}

/** A URL to PUT a zipped package to (bigger than a request body may be), and the URI to register. */
export async function createUpload(deps: ModelsDeps, model: string): Promise<UploadTicket> {
  assertModelName(model);
  return requireStaging(deps).createUpload(model);
}

function requireStaging(deps: ModelsDeps): PackageStaging {
  if (!deps.staging) {
    throw new VigilError('BadRequest', 'This deployment has no package staging area configured');
  }
  return deps.staging;
}

/** @throws VigilError BadRequest when the reason is missing or blank. */
function requireReason(ctx: ChangeContext, what: string): void {
  if (ctx.reason === undefined || ctx.reason.trim() === '') {
    throw new VigilError('BadRequest', `A reason is required to ${what}`, { field: 'reason' });
  }
}

/** PendingManualApproval → Approved, with a reason. @throws ConflictError when already decided */
export async function approve(
  deps: Pick<ModelsDeps, 'registry'>,
  model: string,
  version: number,
  ctx: Change,
): Promise<ModelVersion> {
  requireReason(ctx, 'approve a version');
  return deps.registry.approve(model, version, ctx);
}

/** PendingManualApproval → Rejected, with a reason. @throws ConflictError when already decided */
export async function reject(
  deps: Pick<ModelsDeps, 'registry'>,
  model: string,
  version: number,
  ctx: Change,
): Promise<ModelVersion> {
  requireReason(ctx, 'reject a version');
  return deps.registry.reject(model, version, ctx);
}

/** Options of alias changes. */
export interface AliasChange extends ChangeContext {
  /** Compare-and-set: refuse with 409 unless the alias is at this revision (0 = never set). */
  readonly expectedRevision?: number;
}

/** Reads the alias and checks the caller's expected revision against it. */
async function readAlias(
  deps: Pick<ModelsDeps, 'registry'>,
  model: string,
  alias: string,
  expected?: number,
) {
  assertAliasName(alias);
  if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new VigilError('BadRequest', `expectedRevision must be a non-negative integer, got ${expected}`, {
      field: 'expectedRevision',
    });
  }
  const current = await deps.registry.getAlias(model, alias);
  const revision = current?.revision ?? 0;
  if (expected !== undefined && expected !== revision)
    throw revisionConflict(model, alias, expected, revision);
  const live = current && !current.deleted ? current : undefined;
  return { current, live, revision };
}

/**
 * Sets or moves an alias (promote). Pointing it at the version it already has
 * is a no-op (`changed: false`, no event).
 * @throws VigilError NotApproved | ConflictError (409 naming the current revision)
 */
export async function setAlias(
  deps: Pick<ModelsDeps, 'registry' | 'policy' | 'releases'>,
  model: string,
  alias: string,
  version: number,
  opts: AliasChange,
): Promise<AliasMove> {
  assertAliasName(alias);
  assertVersionNumber(version);
  await assertNoRelease(deps.releases, model, alias);
  const target = await deps.registry.getVersion(model, version);
  assertCanTakeAlias(target, alias, deps.policy ?? DEFAULT_POLICY);
  const { live, revision } = await readAlias(deps, model, alias, opts.expectedRevision);
  if (live && live.version === version) return { state: live, changed: false };
  return deps.registry.writeAlias(model, alias, {
    type: 'alias-set',
    to: version,
    expectedRevision: revision,
    actor: opts.actor,
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
  });
}

/**
 * Rolls an alias back (see `rollbackTarget` in core/registry/rules.ts for the one
 * definition): without `to`, undoes the alias' last move; with `to`, moves it to an
 * Approved version it served before. Recorded as `rolled-back`, and undoable itself.
 * @throws VigilError BadRequest | NotApproved | NotFound | ConflictError
 */
export async function rollback(
  deps: Pick<ModelsDeps, 'registry' | 'policy' | 'releases'>,
  model: string,
  alias: string,
  opts: AliasChange & { readonly to?: number },
): Promise<AliasMove> {
  requireReason(opts, 'roll an alias back');
  await assertNoRelease(deps.releases, model, alias);
  if (opts.to !== undefined) assertVersionNumber(opts.to);
  const { current, live, revision } = await readAlias(deps, model, alias, opts.expectedRevision);
  if (!current) throw aliasUnset(model, alias);
  const events = await deps.registry.history(model);
  const to = rollbackTarget(events, { model, alias, ...(live ? { current: live.version } : {}) }, opts.to);
  const target = await deps.registry.getVersion(model, to);
  if (opts.to !== undefined && target.approval !== 'Approved') {
    throw new VigilError(
      'NotApproved',
      `Version ${to} of '${model}' is ${target.approval}; rollback --to needs an Approved version`,
      { model, alias, version: to, approval: target.approval },
    );
  }
  assertCanTakeAlias(target, alias, deps.policy ?? DEFAULT_POLICY);
  return deps.registry.writeAlias(model, alias, {
    type: 'rolled-back',
    to,
    expectedRevision: revision,
    actor: opts.actor,
    reason: opts.reason,
  });
}

/**
 * Deletes an alias (it stops serving). The alias item stays as a tombstone so
 * its revisions keep counting and `rollback` can restore it.
 * @throws VigilError NotFound (unset) | ConflictError
 */
export async function deleteAlias(
  deps: Pick<ModelsDeps, 'registry' | 'releases'>,
  model: string,
  alias: string,
  opts: AliasChange,
): Promise<AliasMove> {
  await assertNoRelease(deps.releases, model, alias);
  const { live, revision } = await readAlias(deps, model, alias, opts.expectedRevision);
  if (!live) throw aliasUnset(model, alias);
  return deps.registry.writeAlias(model, alias, {
    type: 'alias-deleted',
    expectedRevision: revision,
    actor: opts.actor,
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
  });
}

const aliasUnset = (model: string, alias: string) =>
  new VigilError('NotFound', `Model '${model}' has no '${alias}' alias set`, { model, alias });

/** Every model with its latest version and aliases. */
export async function listModels(deps: Pick<ModelsDeps, 'registry'>): Promise<ModelSummary[]> {
  return deps.registry.listModels();
}

/** The API's JSON form of a package: what `vigil/edge`'s `loadPackage` reads. */
export interface PackageDocument {
  readonly model: string;
  readonly version: number;
  readonly manifest: ModelPackage['manifest'];
  /** model.onnx, base64. */
  readonly onnx: string;
}

/**
 * A registered version's package, verified against its sha256 by the store.
 * @throws ModelNotFoundError | VersionNotFoundError | IntegrityError
 */
export async function packageOf(
  deps: Pick<ModelsDeps, 'registry' | 'store'>,
  model: string,
  version: number,
): Promise<PackageDocument> {
  const v = await deps.registry.getVersion(model, version);
  const pkg = await deps.store.getPackage(v.artifactUri);
  return { model, version, manifest: pkg.manifest, onnx: Buffer.from(pkg.onnx).toString('base64') };
}

/** A model's versions and aliases (with the revisions an `expectedRevision` needs). */
export async function describeModel(
  deps: Pick<ModelsDeps, 'registry'>,
  model: string,
): Promise<{
  model: string;
  aliases: Record<string, number>;
  revisions: Record<string, number>;
  versions: ModelVersion[];
}> {
  const [versions, aliases] = await Promise.all([
    deps.registry.listVersions(model),
    deps.registry.listAliases(model),
  ]);
  return {
    model,
    aliases: Object.fromEntries(aliases.map((a: AliasState) => [a.alias, a.version])),
    revisions: Object.fromEntries(aliases.map((a: AliasState) => [a.alias, a.revision])),
    versions,
  };
}

/** History of a model, optionally of one alias; with `at`, also which version that alias served then. */
export async function history(
  deps: Pick<ModelsDeps, 'registry'>,
  model: string,
  opts: { readonly alias?: string; readonly at?: Date } = {},
): Promise<{ model: string; events: HistoryEvent[]; alias?: string; at?: string; version?: number | null }> {
  if (opts.alias !== undefined) assertAliasName(opts.alias);
  const all = await deps.registry.history(model);
  const events = opts.alias ? all.filter((e) => e.alias === opts.alias) : all;
  if (opts.at === undefined) return { model, events };
  const alias = opts.alias ?? 'production';
  return { model, alias, at: opts.at.toISOString(), version: aliasAt(all, alias, opts.at) ?? null, events };
}

/** Which version `alias` served at `at` ("what served production on date X"). */
export async function versionAt(
  deps: Pick<ModelsDeps, 'registry'>,
  model: string,
  alias: string,
  at: Date,
): Promise<number | undefined> {
  assertAliasName(alias);
  return aliasAt(await deps.registry.history(model), alias, at);
}

async function versionsOrNone(registry: ModelRegistry, name: string): Promise<ModelVersion[]> {
  try {
    return await registry.listVersions(name);
  } catch (e) {
    if ((e as VigilError).code === 'ModelNotFound') return [];
    throw e;
  }
}
