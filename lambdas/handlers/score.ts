import type { Context } from 'aws-lambda';
import { type ScoreInput, type ScoreOutput, scoreRows } from '#app/score.ts';
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

/** Score Lambda (`HANDLERS.score`): `POST /v1/models/{model}/score`. */
export const handler = httpHandler((event, context) => core()(event, context));
