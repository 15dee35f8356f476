import type { Context } from 'aws-lambda';
import { logger, metrics } from '#adapters/observability.ts';
import { scoreRequest } from '#app/score.ts';
import { ENV } from '#contracts';
import { emitMetrics, type HttpEvent, httpHandler } from '#runtime/http.ts';
import { runtime } from '#runtime/root.ts';

/**
 * Score Lambda. Wiring only: configuration and adapters come from
 * `runtime()` (built once per process), the work from `scoreRequest`.
 */
let core: ReturnType<typeof scoreRequest> | undefined;

const score = (event: HttpEvent, context: Context) => {
  if (!core) {
    const rt = runtime();
    core = scoreRequest({
      models: rt.models,
      captures: rt.captures,
      captureSampleRate: rt.config.captureSampleRate,
      maxRows: rt.config.maxScoreRows,
      pinnedVersion: rt.config.modelVersion,
      alias: rt.config.modelAlias,
    });
  }
  return core(event, context);
};

/** Longest the init phase waits for the preload; Lambda's on-demand init budget is 10 s. */
const PRELOAD_BUDGET_MS = 5000;

/**
 * Loads the models named by `VIGIL_PRELOAD_MODELS` (the pinned version, else the alias) into the
 * process cache during init, so provisioned concurrency starts warm and a new version's first
 * requests do not pay the load against the p99 rollback alarm. Never fatal: a failure or a slow
 * load is logged and the first request loads lazily as before (a failed load is not cached).
 */
const preload = async (): Promise<void> => {
  const names = (process.env[ENV.PRELOAD_MODELS] ?? '').split(',').filter((n) => n.length > 0);
  if (names.length === 0) return;
  try {
    const rt = runtime();
    const ref = rt.config.modelVersion
      ? { version: rt.config.modelVersion }
      : { alias: rt.config.modelAlias };
    const loads = Promise.allSettled(names.map((name) => rt.models.get(name, ref)));
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(resolve, PRELOAD_BUDGET_MS, 'timeout').unref(),
    );
    const outcome = await Promise.race([loads, timer]);
    if (outcome === 'timeout') logger.warn('model preload still running at the init budget', { names });
    else
      for (const [i, r] of outcome.entries())
        if (r.status === 'rejected')
          logger.warn('model preload failed', { model: names[i], error: r.reason });
  } catch (error) {
    logger.warn('model preload skipped', { error: error as Error });
  }
};
await preload();

export const handler = httpHandler(score).use(emitMetrics(metrics));
