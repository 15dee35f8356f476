import { SCORE_LIVE_ALIAS } from '#contracts';
import type { Logger } from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import type { LifecycleHook, LifecycleHookReporter, ReleaseStore } from '#core/release/ports.ts';

/** What the score deployment's pre-traffic hook reads and whom it answers. */
export interface ScoreDeployHookDeps {
  /** Every model's name (the registry's model index): a release of any of them moves `live`. */
  readonly registry: Pick<ModelRegistry, 'listModels'>;
  readonly releases: Pick<ReleaseStore, 'active'>;
  readonly hooks: LifecycleHookReporter;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

/** The hook's answer and why (CodeDeploy's status call takes no reason: the reason goes to the log). */
export interface ScoreDeployHookOutcome {
  readonly status: 'Succeeded' | 'Failed';
  readonly reason: string;
  /** The releases that hold `live`, when any does. */
  readonly heldBy: readonly { readonly model: string; readonly releaseId: string; readonly phase: string }[];
}

/**
 * CodeDeploy's `BeforeAllowTraffic` hook of the score function's deployment group (DESIGN.md §8,
 * issue 11): a code deployment must not move `live` while a model release holds it, because the
 * release routes weights on the same alias and judges green against blue's code. `live` is one alias
 * for every model, so the hook reads every model's release record: any non-terminal one fails the
 * hook (CodeDeploy then stops the deployment and rolls it back before any traffic moved); none lets
 * it through. Records it cannot read fail it too (fail closed: an unknown is not "no release"), with
 * the cause in the reason. Answering CodeDeploy itself must succeed: when that call throws, the error
 * propagates so Lambda retries the invocation.
 */
export async function answerScoreDeployHook(
  deps: ScoreDeployHookDeps,
  hook: LifecycleHook,
): Promise<ScoreDeployHookOutcome> {
  let outcome: ScoreDeployHookOutcome;
  try {
    const models = await deps.registry.listModels();
    const active = await Promise.all(models.map((m) => deps.releases.active(m.name)));
    const heldBy = active.flatMap((r) =>
      r ? [{ model: r.model, releaseId: r.releaseId, phase: r.phase }] : [],
    );
    outcome =
      heldBy.length > 0
        ? {
            status: 'Failed',
            reason: `model release(s) hold ${SCORE_LIVE_ALIAS}: ${heldBy
              .map((h) => `${h.model} ${h.releaseId} (${h.phase})`)
              .join(', ')}; deploy again after they end, or abort them (vigil release abort <model>)`,
            heldBy,
          }
        : { status: 'Succeeded', reason: `no model release holds ${SCORE_LIVE_ALIAS}`, heldBy: [] };
  } catch (e) {
    const err = e as Error;
    outcome = {
      status: 'Failed',
      reason: `the release records could not be read (${err.name}: ${err.message}); refusing rather than guessing`,
      heldBy: [],
    };
  }
  const log = outcome.status === 'Failed' ? deps.logger.warn : deps.logger.info;
  log.call(deps.logger, `score deployment hook: ${outcome.status}`, {
    deploymentId: hook.deploymentId,
    lifecycleEventHookExecutionId: hook.lifecycleEventHookExecutionId,
    reason: outcome.reason,
    heldBy: outcome.heldBy,
  });
  await deps.hooks.report(hook, outcome.status);
  return outcome;
}
