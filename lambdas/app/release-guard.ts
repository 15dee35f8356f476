import { PRODUCTION_ALIAS } from '#contracts';
import { ConflictError } from '#core/errors.ts';
import type { ReleaseStore } from '#core/release/ports.ts';

// Its own module (no zod, no release machinery): the models function's bundle imports it.

/**
 * Refuses a hand move of `production` while a release holds the model (`vigil models promote`,
 * `PUT …/aliases/production`, a rollback of it): the release would judge against a moved
 * baseline and its promotion's conditional write would fail later instead of now.
 * @throws ConflictError naming the release
 */
export async function assertNoRelease(
  releases: Pick<ReleaseStore, 'active'> | undefined,
  model: string,
  alias: string,
): Promise<void> {
  if (!releases || alias !== PRODUCTION_ALIAS) return;
  const active = await releases.active(model);
  if (active) {
    throw new ConflictError(
      `Release ${active.releaseId} of '${model}' (version ${active.candidateVersion}) holds production; ` +
        'wait for it, or roll it back, before moving the alias by hand',
      { model, alias, releaseId: active.releaseId, phase: active.phase },
    );
  }
}
