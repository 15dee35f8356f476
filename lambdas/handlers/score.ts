import type { Context } from 'aws-lambda';
import { type ScoreInput, type ScoreOutput, scoreRows } from '#app/score.ts';
import { ENV, METRIC_DIMENSIONS, modelVersionDimension } from '#contracts';
import { type HttpEvent, type HttpResult, httpHandler, json } from '#runtime/http.ts';
import { parseRowsRequest } from '#runtime/request.ts';
import { captures, config, log, member, metricsSink, models } from '#runtime/root.ts';

/**
 * The HTTP edge of scoring: parse `{model}`, `?version` and the body → `scoreRows` → 200 JSON.
 * Also used by `vigil score`, which serves one package directory through it.
 */
export function scoreHttp(
  score: (input: ScoreInput) => Promise<ScoreOutput>,
  defaults: { readonly version?: number; readonly alias: string },
) {
  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const req = parseRowsRequest(event, defaults);
    return json(200, await score({ ...req, requestId: context.awsRequestId }));
  };
}

const core = member(() => {
  const c = config();
  return scoreHttp(
    scoreRows({
      models: models(),
      captures: captures(),
      captureSampleRate: c.captureSampleRate,
      maxRows: c.maxScoreRows,
      metrics: metricsSink(),
      logger: log(),
    }),
    { version: c.modelVersion, alias: c.modelAlias },
  );
});

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
    const c = config();
    const ref = c.modelVersion ? { version: c.modelVersion } : { alias: c.modelAlias };
    const loads = Promise.allSettled(names.map((name) => models().get(name, ref)));
    const timer = new Promise<'timeout'>((resolve) =>
      setTimeout(resolve, PRELOAD_BUDGET_MS, 'timeout').unref(),
    );
    const outcome = await Promise.race([loads, timer]);
    if (outcome === 'timeout') log().warn('model preload still running at the init budget', { names });
    else
      for (const [i, r] of outcome.entries())
        if (r.status === 'rejected')
          log().warn('model preload failed', { model: names[i], error: String(r.reason) });
  } catch (error) {
    log().warn('model preload skipped', { error: String(error) });
  }
};
await preload();

/**
 * The model version a failed request was for: the pinned one, else what the alias last resolved
 * to in this process (a release tells blue's and green's `ServerErrors` apart by it).
 */
const errorDimensions = (event: HttpEvent) => {
  const model = event.pathParameters?.model;
  if (!model) return [];
  const c = config();
  const version = c.modelVersion ?? models().peekAliasVersion(model, c.modelAlias);
  return version === undefined
    ? []
    : [{ [METRIC_DIMENSIONS.modelVersion]: modelVersionDimension(model, version) }];
};

/** Score Lambda (`HANDLERS.score`): `POST /v1/models/{model}/score`. */
export const handler = httpHandler((event, context) => core()(event, context), { errorDimensions });
