import type { Context } from 'aws-lambda';
import { type ExplainInput, type ExplainOutput, explainRowsOf } from '#app/explain.ts';
import { VigilError } from '#core/errors.ts';
import { type HttpEvent, type HttpResult, httpHandler, json } from '#runtime/http.ts';
import { parseRowsRequest } from '#runtime/request.ts';
import { config, member, metricsSink, models } from '#runtime/root.ts';

/**
 * The HTTP edge of explanation: JSON by default; `?format=svg` returns the waterfall chart of
 * row `?row=i` (default 0). Also used by `vigil explain` on one package directory.
 */
export function explainHttp(
  explain: (input: ExplainInput) => Promise<ExplainOutput>,
  defaults: { readonly version?: number; readonly alias: string },
) {
  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const format = event.queryStringParameters?.format ?? 'json';
    if (format !== 'json' && format !== 'svg') {
      throw new VigilError('BadRequest', `Query parameter 'format' must be 'json' or 'svg'`);
    }
    const req = parseRowsRequest(event, defaults);
    const out = await explain({ ...req, requestId: context.awsRequestId });
    if (format === 'svg') {
      const rowParam = event.queryStringParameters?.row ?? '0';
      const row = /^[0-9]{1,6}$/.test(rowParam) ? Number(rowParam) : Number.NaN;
      return { statusCode: 200, headers: { 'content-type': 'image/svg+xml' }, body: out.svg(row) };
    }
    const { model, version, threshold, requestId, direction, explains, coverSource, results } = out;
    return json(200, { model, version, threshold, requestId, direction, explains, coverSource, results });
  };
}

const core = member(() => {
  const c = config();
  return explainHttp(explainRowsOf({ models: models(), maxRows: c.maxExplainRows, metrics: metricsSink() }), {
    version: c.modelVersion,
    alias: c.modelAlias,
  });
});

/** Explain Lambda (`HANDLERS.explain`): `POST /v1/models/{model}/explain`. */
export const handler = httpHandler((event, context) => core()(event, context));
