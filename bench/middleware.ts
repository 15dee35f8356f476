import { cpus, loadavg } from 'node:os';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type HttpEvent, type HttpResult, httpErrors, json, routeScopes } from '#runtime/http.ts';
import type { BenchModule } from './types.ts';
import { fmt, median, percentile, timeCalls } from './util.ts';

/**
 * The route-scope middleware on the score path: a middy chain with and without it around
 * the same trivial handler, so the ratio is what the middleware adds per request.
 */
export const run: BenchModule = async () => {
  const event = {
    routeKey: 'POST /v1/models/{model}/score',
    rawPath: '/v1/models/default/score',
    headers: {},
    requestContext: {
      requestId: 'r',
      http: { method: 'POST' },
      authorizer: { lambda: { keyId: 'k', scope: 'score' } },
    },
  } as unknown as APIGatewayProxyEventV2;
  const admin = { ...event, routeKey: 'PUT /v1/models/{model}/aliases/{alias}' } as APIGatewayProxyEventV2;
  const context = { awsRequestId: 'r' } as Context;
  const inner = async () => json(200, { ok: true });
  const bare = middy<HttpEvent, HttpResult>().use(httpErrors()).handler(inner);
  const scoped = middy<HttpEvent, HttpResult>().use(httpErrors()).use(routeScopes()).handler(inner);
  const rows: (string | number)[][] = [];
  const n = 20_000;
  const base = await timeCalls(() => bare(event, context), n);
  for (const [name, fn] of [
    ['errors only (baseline)', () => bare(event, context)],
    ['errors + route scopes, key route', () => scoped(event, context)],
    ['errors + route scopes, admin route refused (403)', () => scoped(admin, context)],
  ] as const) {
    const t = name.startsWith('errors only') ? base : await timeCalls(fn, n);
    rows.push([name, fmt(median(t)), fmt(percentile(t, 99)), fmt(median(t) / median(base))]);
  }
  return [
    {
      title: 'HTTP middleware: route scopes (µs per request)',
      columns: ['chain', 'median', 'p99', 'median vs baseline'],
      rows,
      notes: [
        `${n} calls each; load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')} on ${cpus().length} cores`,
      ],
    },
  ];
};
