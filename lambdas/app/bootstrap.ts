import { basename } from 'node:path';
import { PRODUCTION_ALIAS } from '#contracts';
import { ModelNotFoundError } from '#core/errors.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { unzipPackage } from '#core/model/package-zip.ts';
import type { ModelVersion } from '#core/registry/types.ts';
import { type ModelsDeps, registerPackage, setAlias } from './models.ts';
import { readPackageDir } from './package-dir.ts';

/** Actor recorded by `bootstrapDefaultModel`, so an interrupted bootstrap can be recognised and completed. */
export const BOOTSTRAP_ACTOR = 'vigil-bootstrap';

/** What `bootstrapDefaultModel` did. */
export interface BootstrapResult {
  readonly name: string;
  /** `registered`: first start; `completed`: finished an interrupted bootstrap; `unchanged`: nothing to do. */
  readonly action: 'registered' | 'completed' | 'unchanged';
  /** The version `production` points at, when set. */
  readonly production?: number;
}

/**
 * The local twin's first start: when the package's model has no versions yet,
 * registers it (version 1), approves it and points `production` at it. Run it
 * on every start: it changes nothing once done, and finishes a bootstrap that
 * was interrupted midway (its only version registered by BOOTSTRAP_ACTOR but
 * not yet approved or promoted). A model someone else registered is left alone.
 */
export async function bootstrapDefaultModel(
  deps: Pick<ModelsDeps, 'registry' | 'store' | 'policy'>,
  packageDir: string,
  opts: { name?: string } = {},
): Promise<BootstrapResult> {
  // The package directory by name only: the checkout path is nobody's business in the history.
  return bootstrapPackage(deps, await readPackageDir(packageDir), {
    ...opts,
    reason: `bootstrap from the shipped package directory ${basename(packageDir)}`,
  });
}

/**
 * A deployed environment's first deploy (the Data stack's seed custom resource): the same rules as
 * {@link bootstrapDefaultModel} for the shipped package zipped as a CDK asset. It never moves a
 * `production` alias that exists, and never touches a model someone else registered, so a redeploy
 * after a promotion (or with a rebuilt default package) changes nothing.
 * @throws VigilError BadRequest (not a package zip) | InvalidModel | IntegrityError
 */
export async function seedDefaultModel(
  deps: Pick<ModelsDeps, 'registry' | 'store' | 'policy'>,
  zip: Uint8Array,
  opts: { name?: string } = {},
): Promise<BootstrapResult> {
  return bootstrapPackage(deps, unzipPackage(zip, 'the shipped default package'), {
    ...opts,
    reason: 'seeded at deploy from the shipped default package',
  });
}

/** Registers, approves and promotes `pkg` when its model has no production version (see above). */
async function bootstrapPackage(
  deps: Pick<ModelsDeps, 'registry' | 'store' | 'policy'>,
  pkg: ModelPackage,
  opts: { name?: string; reason: string },
): Promise<BootstrapResult> {
  const name = opts.name ?? pkg.manifest.name;
  const ctx = { actor: BOOTSTRAP_ACTOR, reason: opts.reason };
  let versions: ModelVersion[] = [];
  try {
    versions = await deps.registry.listVersions(name);
  } catch (e) {
    if (!(e instanceof ModelNotFoundError)) throw e;
  }
  let action: BootstrapResult['action'] = 'completed';
  let target: ModelVersion;
  if (versions.length === 0) {
    target = await registerPackage(deps, pkg, { ...ctx, name });
    action = 'registered';
  } else {
    const aliases = await deps.registry.listAliases(name);
    const production = aliases.find((a) => a.alias === PRODUCTION_ALIAS)?.version;
    const only = versions.length === 1 ? versions[0] : undefined;
    if (production !== undefined || only?.registeredBy !== BOOTSTRAP_ACTOR) {
      return { name, action: 'unchanged', ...(production !== undefined ? { production } : {}) };
    }
    target = only;
  }
  if (target.approval === 'PendingManualApproval') await deps.registry.approve(name, target.version, ctx);
  const move = await setAlias(deps, name, PRODUCTION_ALIAS, target.version, ctx);
  return { name, action, production: move.state.version };
}
