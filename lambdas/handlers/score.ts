import type { Context } from 'aws-lambda';
import { type ScoreInput, type ScoreOutput, scoreRows } from '#app/score.ts';
import { type HttpEvent, type HttpResult, httpHandler, json } from '#runtime/http.ts';
import { parseRowsRequest } from '#runtime/request.ts';
import { fromRoot } from '#runtime/root.ts';

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

const core = fromRoot((r) =>
  scoreHttp(
    scoreRows({
      models: r.models,
      captures: r.captures,
      captureSampleRate: r.config.captureSampleRate,
      maxRows: r.config.maxScoreRows,
      metrics: r.metrics,
      logger: r.logger,
    }),
    { version: r.config.modelVersion, alias: r.config.modelAlias },
  ),
);

/** Score Lambda (`HANDLERS.score`): `POST /v1/models/{model}/score`. */
export const handler = httpHandler((event, context) => core()(event, context));
