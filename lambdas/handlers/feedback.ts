import * as z from 'zod/mini';
import { type FeedbackDeps, modelQuality, recordFeedback } from '#app/feedback.ts';
import { ENV, MODEL_NAME_PATTERN, ROUTES, routeKey } from '#contracts';
import { VigilError } from '#core/errors.ts';
import { parseWindow } from '#core/feedback/labels.ts';
import {
  caller,
  findRoute,
  type HttpEvent,
  type HttpResult,
  httpHandler,
  json,
  parseJsonBody,
  pathParam,
  validate,
} from '#runtime/http.ts';
import { captureLookup, captureReader, feedbackLabels, member, registry } from '#runtime/root.ts';

/** The routes this handler serves: its entries in `ROUTES`. */
const FEEDBACK_ROUTES = ROUTES.filter((r) => r.handler === 'feedback');

/** A request id as the score response returns it (Lambda's request ids are UUIDs). */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const FeedbackBody = z.strictObject({
  requestId: z.string().check(z.regex(REQUEST_ID_PATTERN, 'must be the requestId of a score response')),
  index: z.optional(z.number().check(z.int(), z.gte(0), z.lte(99_999))),
  label: z.enum(['anomaly', 'normal']),
  model: z.optional(z.string().check(z.regex(MODEL_NAME_PATTERN, 'must be a model name'))),
  version: z.optional(z.number().check(z.int(), z.positive())),
});
const QualityQuery = z.strictObject({ window: z._default(z.string(), '7d') });

async function handle(deps: FeedbackDeps, raw: HttpEvent): Promise<HttpResult> {
  const found = findRoute(raw, FEEDBACK_ROUTES);
  if (!found) throw new VigilError('NotFound', `No route for ${raw.rawPath}`, { path: raw.rawPath });
  const { event } = found;
  if (routeKey(found.route) === 'POST /v1/feedback') {
    const b = validate(FeedbackBody, parseJsonBody(event));
    const by = caller(event)?.keyId;
    const r = await recordFeedback(deps)({ ...b, ...(by ? { by } : {}) });
    return json(r.outcome === 'created' ? 201 : 200, {
      outcome: r.outcome,
      ...(r.previous ? { previous: r.previous } : {}),
      ...r.label,
    });
  }
  const model = pathParam(event, 'model', MODEL_NAME_PATTERN);
  const q = validate(QualityQuery, event.queryStringParameters ?? {}, 'BadRequest');
  let windowMs: number;
  try {
    windowMs = parseWindow(q.window);
  } catch (e) {
    throw new VigilError('BadRequest', `Query parameter ${(e as Error).message}`, { parameter: 'window' });
  }
  return json(200, { window: q.window, ...(await modelQuality(deps)(model, windowMs)) });
}

/** Builds the handler around given ports (tests). */
export const createFeedbackHandler = (deps: FeedbackDeps) => httpHandler((event) => handle(deps, event));

const deps = /* @__PURE__ */ member((): FeedbackDeps => {
  const labels = feedbackLabels();
  // A server without the table (an older deployment) says so instead of failing as a bug.
  if (!labels)
    throw new VigilError('ServiceUnavailable', `Feedback is not configured here (${ENV.FEEDBACK_TABLE})`);
  const lookup = captureLookup();
  return {
    labels,
    captures: captureReader(),
    registry: registry(),
    ...(lookup ? { lookup } : {}),
  };
});

/**
 * Lambda entry point (`HANDLERS.feedback`): `POST /v1/feedback` and
 * `GET /v1/models/{model}/quality`, any valid key (the authorizer checked it before the body).
 */
export const handler = httpHandler((event) => handle(deps(), event));
