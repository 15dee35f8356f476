import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { logger, metrics } from '#adapters/observability.ts';
import { METRICS } from '#contracts';
import { isVigilError, VigilError } from '#core/errors.ts';
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

/** Default limit of a request body, bytes (API Gateway's own limit is 10 MB). */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

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
    throw new VigilError('PayloadTooLarge', `Request body exceeds ${maxBytes} bytes`, { maxBytes });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new VigilError('MalformedJson', `Request body is not valid JSON: ${(e as Error).message}`);
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

/**
 * The one place typed errors become HTTP responses. A VigilError maps to its
 * status with `{ error: { code, message, details } }`; anything else is a bug:
 * logged with its stack, answered with a generic 500 carrying the request id.
 */
export const httpErrors = (): MiddlewareObj<HttpEvent, HttpResult, Error, Context> => ({
  onError: async (request) => {
    const err = request.error;
    const requestId = request.context?.awsRequestId ?? request.event?.requestContext?.requestId ?? 'unknown';
    if (isVigilError(err)) {
      if (err.status >= 500) logger.error('request failed', { error: err, requestId });
      request.response = json(
        err.status,
        { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } },
        { 'x-request-id': requestId },
      );
      return;
    }
    logger.error('unhandled error', { error: err, requestId });
    // The response is a normal return to Lambda, so its Errors metric never sees this 500:
    // count it here (service dimension only) for the alarms that roll a canary back.
    metrics.emit([{ name: SERVER_ERRORS_METRIC, value: 1 }]);
    request.response = json(
      500,
      { error: { code: 'InternalError', message: 'Internal error', requestId } },
      { 'x-request-id': requestId },
    );
  },
});

/** Wraps an HTTP handler core with the house middleware (`lambdaHandler`) and the shared error mapping. */
export const httpHandler = (fn: HttpHandler) => lambdaHandler<HttpEvent, HttpResult>(fn).use(httpErrors());
