import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { BODY_TOO_LARGE_MESSAGE, MAX_BODY_BYTES } from '#contracts';
import { isVigilError } from '#core/errors.ts';

/** A Lambda handler as API Gateway (HTTP API, payload v2) calls it. */
export type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Route {
  readonly method: string;
  readonly path: string;
  readonly handler: ApiHandler;
  /** Runs before the handler; returns a response to short-circuit (e.g. 401). */
  readonly guard?: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2 | undefined>;
}

/** Longest part of a request path an error message echoes. */
const ECHO_MAX = 64;

/** Matches `/v1/models/{model}/score` against a path; returns path parameters or undefined. */
export function matchRoute(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const a = path.split('/');
  if (p.length !== a.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const m = /^\{(\w+)\}$/.exec(p[i]);
    if (m) {
      if (a[i] === '') return undefined;
      try {
        params[m[1]] = decodeURIComponent(a[i]);
      } catch {
        return undefined;
      }
    } else if (p[i] !== a[i]) return undefined;
  }
  return params;
}

/**
 * Splits a request target into its path and raw query *without* resolving it as a URL:
 * `new URL('//evil/v1/models', base)` reads `evil` as a host and serves `/v1/models`; here
 * `//evil/v1/models` stays that path (and matches no route). Absolute-form targets
 * (`http://host/path`, proxies only) are reduced to their path.
 */
export function splitTarget(target: string | undefined): { path: string; query: string } {
  // A request target carries no fragment (RFC 9112 §3.2: absolute-path ["?" query]); a raw `#`
  // stays part of the path, so `/v1/models/a/aliases/b#/rollback` serves no route at all.
  const t = target ?? '/';
  const q = t.indexOf('?');
  let p = q >= 0 ? t.slice(0, q) : t;
  const query = q >= 0 ? t.slice(q + 1) : '';
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(p);
  if (abs) p = abs[1] ?? '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return { path: p, query };
}

/** The first `ECHO_MAX` characters of caller input, safe to quote in an error. */
export const echo = (s: string): string => {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > ECHO_MAX ? `${clean.slice(0, ECHO_MAX)}…` : clean;
};

/** Builds the APIGatewayProxyEventV2 that API Gateway would send for this request. */
export function toEvent(
  req: IncomingMessage,
  body: string | Buffer,
  route: { method: string; path: string },
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const { path, query: rawQuery } = splitTarget(req.url);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQuery)) query[k] = query[k] ? `${query[k]},${v}` : v;
  const requestId = randomUUID();
  const now = new Date();
  // As API Gateway does: text bodies arrive as text, anything else (a package zip) base64-encoded.
  const binary = typeof body !== 'string' && !isTextual(headers['content-type']);
  const text = typeof body === 'string' ? body : binary ? body.toString('base64') : body.toString('utf8');
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: path,
    rawQueryString: rawQuery,
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined,
    body: text === '' ? undefined : text,
    isBase64Encoded: binary && text !== '',
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      requestId,
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
    },
  };
}

/** Content types API Gateway passes as text; everything else is base64-encoded in the event. */
function isTextual(contentType: string | undefined): boolean {
  const t = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    t === '' ||
    t.startsWith('text/') ||
    /^application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded)$/.test(t)
  );
}

export function lambdaContext(functionName: string, requestId: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const send = (res: ServerResponse, r: APIGatewayProxyStructuredResultV2): void => {
  if (res.headersSent || res.destroyed) return;
  const headers = { ...(r.headers ?? {}) } as Record<string, string>;
  const body = r.body ?? '';
  res.writeHead(r.statusCode ?? 200, headers);
  // Node sends no body for HEAD itself; the headers (content-type …) are those GET would send.
  res.end(r.isBase64Encoded ? Buffer.from(body, 'base64') : body);
};

const error = (
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ error: { code, message } }),
});

/** A client that went away mid-request: nothing to answer, one quiet line at most. */
const isClientAbort = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException)?.code;
  return (
    code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as Error)?.message === 'aborted'
  );
};

/** Options of `apiGatewayListener`. */
export interface ListenerOptions {
  /** Where the twin's own diagnostics go. @default process.stderr */
  readonly log?: (line: string) => void;
}

/**
 * Reads a request body as it arrives, refusing it the moment it passes `MAX_BODY_BYTES`, so an
 * oversized body never sits in memory whole. A declared `content-length` over the limit is
 * refused before a byte is read.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A node:http request listener that plays API Gateway: matches a route on the request's path
 * (parsed, never resolved as a URL), runs the guard (the authorizer) on the headers *before*
 * reading the body, streams the body under the one limit, then runs the *same* handler module
 * Lambda runs and writes its response. `HEAD` is served wherever `GET` is.
 */
export function apiGatewayListener(routes: readonly Route[], opts: ListenerOptions = {}) {
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const { path } = splitTarget(req.url);
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const candidates = routes.filter((r) => matchRoute(r.path, path));
      const route = candidates.find((r) => r.method === method);
      if (!route) {
        req.resume();
        if (candidates.length) {
          const allow = [
            ...new Set(candidates.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]))),
          ];
          send(
            res,
            error(405, 'MethodNotAllowed', `${echo(req.method ?? '')} is not allowed on ${echo(path)}`, {
              allow: allow.join(', '),
            }),
          );
        } else {
          send(res, error(404, 'NotFound', `No route for ${echo(req.method ?? '')} ${echo(path)}`));
        }
        return;
      }
      const params = matchRoute(route.path, path) ?? {};
      // The authorizer sees what API Gateway gives it: headers, path, query — no body.
      // The guard may add the authorizer's context (scopes, actor) to the event, as API Gateway does.
      const probe = toEvent(req, '', route, params);
      if (route.guard) {
        const denied = await route.guard(probe);
        if (denied) {
          req.resume();
          send(res, { ...denied, headers: { ...(denied.headers ?? {}), connection: 'close' } });
          return;
        }
      }
      const body = await readBody(req);
      if (body === 'too-large') {
        // Answer first, then drop the connection: reading the rest would only cost us.
        res.once('finish', () => req.destroy());
        send(res, error(413, 'PayloadTooLarge', BODY_TOO_LARGE_MESSAGE, { connection: 'close' }));
        return;
      }
      const event = { ...toEvent(req, body, route, params), requestContext: probe.requestContext };
      const result = await route.handler(event, lambdaContext('vigil-local', event.requestContext.requestId));
      send(res, result);
    } catch (e) {
      if (isClientAbort(e) || req.destroyed) {
        log(`client went away: ${echo(req.method ?? '')} ${echo(splitTarget(req.url).path)}`);
        return;
      }
      if (isVigilError(e)) {
        // A guard's typed failure (the key set is unavailable): the error's own status.
        send(res, {
          ...error(e.status, e.code, e.message),
          headers: {
            'content-type': 'application/json',
            ...(e.status === 503
              ? { 'retry-after': String((e as { retryAfterSeconds?: number }).retryAfterSeconds ?? 5) }
              : {}),
          },
        });
        return;
      }
      // Handlers map their own errors; reaching here is a bug in the twin itself.
      log(`local twin error: ${(e as Error).stack ?? e}`);
      send(res, error(500, 'InternalError', 'Internal error'));
    }
  };
}
