import { basename } from 'node:path';
import { PRODUCTION_ALIAS } from '#contracts';
import { ModelNotFoundError } from '#core/errors.ts';
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
  const pkg = await readPackageDir(packageDir);
  const name = opts.name ?? pkg.manifest.name;
  // The package directory by name only: the checkout path is nobody's business in the history.
  const ctx = {
    actor: BOOTSTRAP_ACTOR,
    reason: `bootstrap from the shipped package directory ${basename(packageDir)}`,
  };
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
