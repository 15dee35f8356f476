import type { ModelPackage } from '#core/model/manifest.ts';
import { withVersion } from '#core/model/package-io.ts';
import type { ArtifactStore } from '#core/ports.ts';
import { assertModelName, summarizeManifest } from '#core/registry/rules.ts';
import type { ModelRegistry, ModelVersion } from '#core/registry/types.ts';
import { checkServable } from '#core/scoring.ts';

/** The ports the registry use cases work over. */
export interface RegistryDeps {
  readonly registry: ModelRegistry;
  readonly store: ArtifactStore;
}

/**
 * Registers a verified package: the registry allocates the version, the store
 * receives the package stamped with its name and version, the registry records
 * the URI. A failed upload leaves a gap in the numbering, never a dangling version.
 */
export async function registerPackage(
  deps: RegistryDeps,
  pkg: ModelPackage,
  opts: { actor: string; reason?: string; name?: string },
): Promise<ModelVersion> {
  const name = opts.name ?? pkg.manifest.name;
  assertModelName(name);
  // A package the scorer cannot serve (bad graph, features or outputs that disagree with the
  // manifest) is refused before it gets a version number.
  checkServable(pkg);
  const named: ModelPackage = { manifest: { ...pkg.manifest, name }, onnx: pkg.onnx };
  return deps.registry.register({
    name,
    sha256: pkg.manifest.sha256,
    summary: summarizeManifest(pkg.manifest),
    metrics: pkg.manifest.metrics,
    lineage: { dataWindow: pkg.manifest.training.window, dataSha256: pkg.manifest.training.dataSha256 },
    actor: opts.actor,
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    store: (version) => deps.store.putPackage(name, version, withVersion(named, version)),
  });
}
