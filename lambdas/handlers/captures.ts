import * as z from 'zod/mini';
import { MAX_CAPTURES, type RecentCapturesDeps, recentCaptures } from '#app/captures.ts';
import { MODEL_NAME_PATTERN } from '#contracts';
import { type HttpEvent, type HttpResult, httpHandler, json, pathParam, validate } from '#runtime/http.ts';
import { captureReader, config, member, registry } from '#runtime/root.ts';

const Query = z.strictObject({
  limit: z._default(
    z.coerce.number().check(z.refine(Number.isInteger, 'must be an integer'), z.gte(1), z.lte(MAX_CAPTURES)),
    20,
  ),
  from: z.optional(z.iso.datetime({ offset: true })),
  to: z.optional(z.iso.datetime({ offset: true })),
});

/**
 * `GET /v1/models/{model}/captures[?limit=20&from=ISO&to=ISO]` (admin) → `{ model, from, to,
 * limit, captures: [{ at, version, requestId, index, features, score, anomaly, sampleRate }] }`,
 * the newest captured rows first, from either capture path (the table, or the Parquet partitions).
 * @throws VigilError BadRequest (400) for a bad limit, timestamp or window
 * @throws ModelNotFoundError (404) for a model the registry does not know
 */
async function handle(deps: RecentCapturesDeps, event: HttpEvent): Promise<HttpResult> {
  const model = pathParam(event, 'model', MODEL_NAME_PATTERN);
  const q = validate(Query, event.queryStringParameters ?? {}, 'BadRequest');
  return json(200, await recentCaptures(deps, model, q));
}

/** Builds the handler around given adapters. */
export const createCapturesHandler = (deps: RecentCapturesDeps) =>
  httpHandler((event) => handle(deps, event));

const deps = member(
  (): RecentCapturesDeps => ({
    captures: captureReader(),
    ...(config().registryTable ? { registry: registry() } : {}),
  }),
);

/** Lambda entry point (`HANDLERS.captures`). */
export const handler = httpHandler((event) => handle(deps(), event));
