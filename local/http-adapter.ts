import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

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

/** Most bytes the local twin reads from a request (API Gateway's own limit is 10 MB). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

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

/** Builds the APIGatewayProxyEventV2 that API Gateway would send for this request. */
export function toEvent(
  req: IncomingMessage,
  body: string | Buffer,
  route: { method: string; path: string },
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] ? `${query[k]},${v}` : v;
  const requestId = randomUUID();
  const now = new Date();
  // As API Gateway does: text bodies arrive as text, anything else (a package zip) base64-encoded.
  const binary = typeof body !== 'string' && !isTextual(headers['content-type']);
  const text = typeof body === 'string' ? body : binary ? body.toString('base64') : body.toString('utf8');
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
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
        path: url.pathname,
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
  const headers = { ...(r.headers ?? {}) } as Record<string, string>;
  const body = r.body ?? '';
  res.writeHead(r.statusCode ?? 200, headers);
  res.end(r.isBase64Encoded ? Buffer.from(body, 'base64') : body);
};

const error = (status: number, code: string, message: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode: status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: { code, message } }),
});

/**
 * A node:http request listener that plays API Gateway: matches a route,
 * builds the v2 event, runs the guard (authorizer) and the *same* handler
 * module Lambda runs, and writes its response.
 */
export function apiGatewayListener(routes: readonly Route[]) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const candidates = routes.filter((r) => matchRoute(r.path, path));
      const route = candidates.find((r) => r.method === req.method);
      if (!route) {
        req.resume();
        send(
          res,
          candidates.length
            ? error(405, 'MethodNotAllowed', `${req.method} is not allowed on ${path}`)
            : error(404, 'NotFound', `No route for ${req.method} ${path}`),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          send(res, error(413, 'PayloadTooLarge', `Request body exceeds ${MAX_BODY_BYTES} bytes`));
          req.destroy();
          return;
        }
        chunks.push(chunk as Buffer);
      }
      const event = toEvent(req, Buffer.concat(chunks), route, matchRoute(route.path, path) ?? {});
      const denied = route.guard ? await route.guard(event) : undefined;
      if (denied) {
        send(res, denied);
        return;
      }
      const result = await route.handler(event, lambdaContext('vigil-local', event.requestContext.requestId));
      send(res, result);
    } catch (e) {
      // Handlers map their own errors; reaching here is a bug in the twin itself.
      process.stderr.write(`local twin error: ${(e as Error).stack ?? e}\n`);
      if (!res.headersSent) send(res, error(500, 'InternalError', 'Internal error'));
    }
  };
}
