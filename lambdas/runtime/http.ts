import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describeError, isDependencyFailure } from '#adapters/dependency-errors.ts';
import { logger, metrics } from '#adapters/observability.ts';
import {
  BODY_TOO_LARGE_MESSAGE,
  MAX_BODY_BYTES,
  METRICS,
  ROUTES,
  type RouteAuth,
  routeKey,
} from '#contracts';
import { DependencyUnavailableError, isVigilError, VigilError } from '#core/errors.ts';
import type { MetricsSink } from '#core/ports.ts';
import { lambdaHandler } from './lambda.ts';

/** EMF metric counting genuine 500s (bugs), alarmed on and used to roll deployments back. */
export const SERVER_ERRORS_METRIC = METRICS.serverErrors;

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** A JSON response. */
export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: { ...JSON_HEADERS, ...headers },
  body: JSON.stringify(body),
});

/**
 * A response value with local absolute paths taken out: a `file://` URI keeps only its part
 * under the artifact store (`file://…/models/default/1/`), and an absolute path inside text (a
 * bootstrap reason naming a checkout) keeps only its last segment. Registry records carry both
 * on the twin; the machine's directory layout is nobody's business over HTTP.
 */
export function withoutLocalPaths<T>(value: T): T {
  const clean = (s: string): string => {
    if (s.startsWith('file://')) {
      const i = s.indexOf('/models/');
      return i >= 0 ? `file://…${s.slice(i)}` : 'file://…';
    }
    return s.replace(
      /(^|[\s('"=])\/(?:[^\s/'")]+\/)+([^\s/'")]*)/g,
      (_m, pre: string, last: string) => `${pre}…/${last}`,
    );
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return clean(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Limit of a request body, bytes: the one limit in `contracts.ts` (its JSDoc says why 4 MiB). */
export const DEFAULT_MAX_BODY_BYTES = MAX_BODY_BYTES;

/**
 * Parses the event body as JSON.
 * @throws VigilError MalformedJson | PayloadTooLarge | InvalidBody
 */
export function parseJsonBody(event: HttpEvent, maxBytes = DEFAULT_MAX_BODY_BYTES): unknown {
  if (event.body === undefined || event.body === null || event.body === '') {
    throw new VigilError('InvalidBody', 'Request body is required (JSON)');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new VigilError(
      'PayloadTooLarge',
      maxBytes === MAX_BODY_BYTES ? BODY_TOO_LARGE_MESSAGE : `Request body exceeds ${maxBytes} bytes`,
      { maxBytes },
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8's message quotes the input ("Unexpected token … in "<text>"…"): keep it short.
    const why = (e as Error).message.slice(0, 120);
    throw new VigilError('MalformedJson', `Request body is not valid JSON: ${why}`);
  }
}

/** The parts of a zod (classic or mini) error this module reads. */
interface SchemaIssues {
  readonly issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>;
}

/** Any zod schema, classic or mini: both expose `safeParse`. */
interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: SchemaIssues };
}

/** Validates `value` with a zod schema; failures become a 400 naming the path. */
export function validate<T>(
  schema: Schema<T>,
  value: unknown,
  code: 'InvalidBody' | 'BadRequest' = 'InvalidBody',
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw zodError(r.error, code);
  return r.data;
}

/** Converts a zod error into a VigilError whose message names the first offending path. */
export function zodError(
  error: SchemaIssues,
  code: 'InvalidBody' | 'BadRequest' = 'InvalidBody',
): VigilError {
  // Messages can quote caller input (an unrecognised key): cut so errors stay small.
  const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max)}…` : s);
  const issues = error.issues
    .slice(0, 10)
    .map((i) => ({ path: cut(i.path.map(String).join('.'), 100), message: cut(i.message, 200) }));
  const first = issues[0];
  const where = first?.path ? ` at '${first.path}'` : '';
  return new VigilError(code, `Invalid request${where}: ${first?.message ?? 'invalid'}`, { issues });
}

/** Reads a required path parameter, validated against a pattern. */
export function pathParam(event: HttpEvent, name: string, pattern = /^[A-Za-z0-9_.-]{1,64}$/): string {
  const v = event.pathParameters?.[name];
  if (!v || !pattern.test(v)) {
    throw new VigilError('BadRequest', `Path parameter '${name}' is missing or invalid`, { parameter: name });
  }
  return v;
}

/** Options of `httpErrors`. */
export interface HttpErrorsOptions {
  /** EMF emitter of `ServerErrors` / `DependencyErrors`. @default the process-wide metrics */
  readonly metrics?: MetricsSink;
  /** `Retry-After` of a dependency outage, seconds. @default 5 */
  readonly retryAfterSeconds?: number;
  /**
   * Extra dimension sets of `ServerErrors` / `DependencyErrors` for this request, e.g. the model
   * version the score function served (a release judges each version by them). Never throws.
   * @default none: the service set only
   */
  readonly errorDimensions?: (event: HttpEvent) => readonly Readonly<Record<string, string>>[];
}

/**
 * The one place typed errors become HTTP responses. A VigilError maps to its
 * status with `{ error: { code, message, details } }`. A dependency that is
 * down or throttled after the SDK's retries is a 503 `ServiceUnavailable` with
 * `Retry-After`, counted as `DependencyErrors`. Anything else is a bug:
 * logged with its stack, answered with a generic 500 carrying the request id,
 * counted as `ServerErrors` (the metric that rolls canaries back — so an
 * outage of a shared table must never land there).
 */
export const httpErrors = (
  opts: HttpErrorsOptions = {},
): MiddlewareObj<HttpEvent, HttpResult, Error, Context> => ({
  onError: async (request) => {
    const o = { metrics, retryAfterSeconds: 5, ...opts };
    let err: unknown = request.error;
    const requestId = request.context?.awsRequestId ?? request.event?.requestContext?.requestId ?? 'unknown';
    let alsoBy: readonly Readonly<Record<string, string>>[] = [];
    try {
      alsoBy = (request.event && o.errorDimensions?.(request.event)) || [];
    } catch {
      // Dimensions are a nicety of the count; the count itself must still go out.
    }
    if (!isVigilError(err) && isDependencyFailure(err)) {
      err = new DependencyUnavailableError(describeError(err), o.retryAfterSeconds);
    }
    if (err instanceof DependencyUnavailableError) {
      logger.warn('dependency unavailable', { reason: describeCause(request.error), requestId });
      o.metrics.emit([{ name: METRICS.dependencyErrors, value: 1 }], undefined, alsoBy);
      request.response = json(
        503,
        { error: { code: err.code, message: err.message, details: err.details } },
        { 'x-request-id': requestId, 'retry-after': String(err.retryAfterSeconds) },
      );
      return;
    }
    if (isVigilError(err)) {
      if (err.status >= 500) logger.error('request failed', { error: err, requestId });
      request.response = json(
        err.status,
        { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } },
        { 'x-request-id': requestId },
      );
      return;
    }
    logger.error('unhandled error', { error: err as Error, requestId });
    // The response is a normal return to Lambda, so its Errors metric never sees this 500:
    // count it here (service dimension only) for the alarms that roll a canary back.
    o.metrics.emit([{ name: SERVER_ERRORS_METRIC, value: 1 }], undefined, alsoBy);
    request.response = json(
      500,
      { error: { code: 'InternalError', message: 'Internal error', requestId } },
      { 'x-request-id': requestId },
    );
  },
});

/** A route of the API as the middleware sees it (an entry of `ROUTES`). */
export interface ApiRoute {
  readonly method: string;
  readonly path: string;
  readonly auth: RouteAuth;
}

/** Matches a route pattern (`/v1/models/{model}`) against a path; returns its parameters or undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const a = path.replace(/(.)\/$/, '$1').split('/');
  if (p.length !== a.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const m = /^\{(\w+)\}$/.exec(p[i] as string);
    if (m) {
      if (a[i] === '') return undefined;
      try {
        params[m[1] as string] = decodeURIComponent(a[i] as string);
      } catch {
        return undefined;
      }
    } else if (p[i] !== a[i]) return undefined;
  }
  return params;
}

const keyIndexes = new WeakMap<readonly ApiRoute[], Map<string, ApiRoute>>();
/** Route key → route, built once per table: the score path pays one Map lookup per request. */
function keyIndex<R extends ApiRoute>(routes: readonly R[]): Map<string, R> {
  let index = keyIndexes.get(routes);
  if (!index) {
    index = new Map(routes.map((r) => [routeKey(r), r]));
    keyIndexes.set(routes, index);
  }
  return index as Map<string, R>;
}

/**
 * The route an event belongs to: API Gateway's `routeKey` when it names one,
 * else the method and raw path (an event built by hand, or a `$default` route).
 * Path parameters of a raw-path match are lifted into `pathParameters`.
 */
export function findRoute<R extends ApiRoute>(
  event: HttpEvent,
  routes: readonly R[],
): { route: R; event: HttpEvent } | undefined {
  const byKey = keyIndex(routes).get(event.routeKey);
  if (byKey) return { route: byKey, event };
  const method = event.requestContext?.http?.method;
  if (!method || event.rawPath === undefined) return undefined;
  for (const r of routes) {
    if (r.method !== method) continue;
    const params = matchPath(r.path, event.rawPath);
    if (params)
      return { route: r, event: { ...event, pathParameters: { ...event.pathParameters, ...params } } };
  }
  return undefined;
}

/** The API key the authorizer vouched for (`requestContext.authorizer.lambda`, simple responses). */
export interface Caller {
  readonly keyId: string;
  readonly scope: string;
}

/** The caller of a request, or undefined when no authorizer context is present. */
export function caller(event: HttpEvent): Caller | undefined {
  const ctx = (event.requestContext as { authorizer?: { lambda?: Record<string, unknown> } } | undefined)
    ?.authorizer?.lambda;
  if (typeof ctx?.keyId !== 'string' || typeof ctx.scope !== 'string') return undefined;
  return { keyId: ctx.keyId, scope: ctx.scope };
}

/** Options of {@link routeScopes}. */
export interface RouteScopesOptions {
  /** @default ROUTES from lambdas/contracts.ts */
  readonly routes?: readonly ApiRoute[];
}

/**
 * The one place scopes are enforced, from the route table: an `admin` route
 * needs a key of scope `admin` (403 `Forbidden` for any other scope, 401 when
 * no authorizer context is present at all); `key` and `public` routes pass (the
 * authorizer, or the twin's guard, already answered 401/403 for a missing or
 * invalid key). An event that matches no route is left to the handler's router,
 * which answers 404: no handler action is reachable without a route.
 */
export const routeScopes = (
  opts: RouteScopesOptions = {},
): MiddlewareObj<HttpEvent, HttpResult, Error, Context> => {
  const { routes } = { routes: ROUTES as readonly ApiRoute[], ...opts };
  return {
    before: async (request) => {
      const found = findRoute(request.event, routes);
      if (found?.route.auth !== 'admin') return;
      const who = caller(request.event);
      if (!who) throw new VigilError('Unauthorized', 'This route needs an admin-scoped API key (x-api-key)');
      if (who.scope !== 'admin') {
        throw new VigilError(
          'Forbidden',
          `${found.route.method} ${found.route.path} needs an admin-scoped API key; key '${who.keyId}' has scope '${who.scope}'`,
          { requiredScope: 'admin', scope: who.scope, keyId: who.keyId },
        );
      }
    },
  };
};

/** The failure and what it wraps, as one line (a model load failing because S3 is down says both). */
const describeCause = (e: unknown): string => {
  const c = (e as { cause?: unknown })?.cause;
  return c && typeof c === 'object' ? `${describeError(e)} <- ${describeError(c)}` : describeError(e);
};

/**
 * Wraps an HTTP handler core with the house middleware (`lambdaHandler`), the shared error
 * mapping and the route scopes. No metrics flush here: the `MetricsSink` publishes each record
 * as it is emitted.
 */
export const httpHandler = (fn: HttpHandler, opts: HttpErrorsOptions = {}) =>
  lambdaHandler<HttpEvent, HttpResult>(fn).use(httpErrors(opts)).use(routeScopes());
