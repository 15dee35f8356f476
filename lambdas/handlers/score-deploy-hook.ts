import * as z from 'zod/mini';
import { answerScoreDeployHook, type ScoreDeployHookDeps } from '#app/score-deploy-hook.ts';
import { VigilError } from '#core/errors.ts';
import { lambdaHandler } from '#runtime/lambda.ts';
import { lifecycleHooks, log, member, registry, releases } from '#runtime/root.ts';

/** What CodeDeploy invokes a Lambda lifecycle hook with. */
const HookEvent = z.object({
  DeploymentId: z.string().check(z.minLength(1)),
  LifecycleEventHookExecutionId: z.string().check(z.minLength(1)),
});

/** Builds the handler around explicit ports (tests). */
export const createScoreDeployHookHandler = (deps: () => ScoreDeployHookDeps) => async (event: unknown) => {
  const e = HookEvent.safeParse(event);
  // Without the ids there is no deployment to answer: throwing leaves it to CodeDeploy's timeout.
  if (!e.success) throw new VigilError('BadRequest', 'Not a CodeDeploy lifecycle hook event');
  return answerScoreDeployHook(deps(), {
    deploymentId: e.data.DeploymentId,
    lifecycleEventHookExecutionId: e.data.LifecycleEventHookExecutionId,
  });
};

const deps = /* @__PURE__ */ member(
  (): ScoreDeployHookDeps => ({
    registry: registry(),
    releases: releases(),
    hooks: lifecycleHooks(),
    logger: log(),
  }),
);

/**
 * Lambda entry point (`HANDLERS.scoreDeployHook`): the `BeforeAllowTraffic` hook of the score
 * function's CodeDeploy deployment group; fails it while a model release holds `live`.
 */
export const handler = lambdaHandler(createScoreDeployHookHandler(deps));
