import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '#contracts';
import { httpHandler, json, matchPath } from '#runtime/http.ts';

const context = { awsRequestId: 'req-1' } as Context;
const reached = httpHandler(async () => json(200, { reached: true }));

function event(
  route: { method: string; path: string },
  scope: 'admin' | 'score' | undefined,
  opts: { byPath?: boolean } = {},
): APIGatewayProxyEventV2 {
  const rawPath = route.path.replace(/\{(\w+)\}/g, (_, p: string) => (p === 'version' ? '1' : `x-${p}`));
  return {
    version: '2.0',
    // API Gateway names the route; a hand-built `$default` event has only the method and path.
    routeKey: opts.byPath ? '$default' : routeKey(route),
    rawPath,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      requestId: 'req-1',
      http: { method: route.method, path: rawPath },
      ...(scope ? { authorizer: { lambda: { keyId: `key-${scope}`, scope } } } : {}),
    },
  } as unknown as APIGatewayProxyEventV2;
}

const status = async (e: APIGatewayProxyEventV2) => (await reached(e, context)).statusCode;

// Derived from ROUTES, so a route added later is covered without touching this file.
describe.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('route scopes: %s', (_, r) => {
  if (r.auth === 'admin') {
    it('refuses a score-scoped key with 403 naming the required scope', async () => {
      const res = await reached(event(r, 'score'), context);
      expect(res.statusCode).toBe(403);
      expect(JSON.parse(res.body ?? '')).toMatchObject({
        error: { code: 'Forbidden', details: { requiredScope: 'admin', scope: 'score' } },
      });
    });
    it('refuses a request without an authorizer context with 401', async () => {
      expect(await status(event(r, undefined))).toBe(401);
    });
    it('refuses a score key also when the route is found by method and path only', async () => {
      expect(await status(event(r, 'score', { byPath: true }))).toBe(403);
    });
    it('lets an admin-scoped key through', async () => {
      expect(await status(event(r, 'admin'))).toBe(200);
    });
  } else {
    it('lets both scopes through (the authorizer already vouched for the key)', async () => {
      expect(await status(event(r, 'score'))).toBe(200);
      expect(await status(event(r, 'admin'))).toBe(200);
    });
  }
});

describe('route scopes: the route table itself', () => {
  it('marks every write to the registry admin', () => {
    for (const r of ROUTES.filter((x) => x.handler === 'models' && x.method !== 'GET')) {
      expect(r.auth, `${r.method} ${r.path}`).toBe('admin');
    }
  });
});

describe('route scopes: fuzzed events', () => {
  const adminPaths = ROUTES.filter((r) => r.auth === 'admin');
  it('never lets a non-admin caller reach an admin route, whatever the routeKey, path and method', async () => {
    const segment = fc.constantFrom(
      'v1',
      'models',
      'm',
      'versions',
      '1',
      'aliases',
      'production',
      'rollback',
      'uploads',
      'approve',
      'reject',
      '',
      '%2e%2e',
      'x',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.array(segment, { minLength: 1, maxLength: 7 }),
        fc.constantFrom('$default', 'GET /v1/models', 'bogus', ...ROUTES.map((r) => routeKey(r))),
        fc.constantFrom<'score' | 'admin' | undefined>('score', undefined, 'admin'),
        async (method, parts, key, scope) => {
          const rawPath = `/${parts.join('/')}`;
          const e = event({ method, path: '/x' }, scope);
          const ev = {
            ...e,
            routeKey: key,
            rawPath,
            requestContext: { ...e.requestContext, http: { method, path: rawPath } },
          } as APIGatewayProxyEventV2;
          const res = await reached(ev, context);
          const byKey = ROUTES.find((r) => routeKey(r) === key);
          const byPath = adminPaths.find((r) => r.method === method && matchPath(r.path, rawPath));
          const admin = byKey ? byKey.auth === 'admin' : byPath !== undefined;
          if (admin && scope !== 'admin') expect(res.statusCode).toBe(scope ? 403 : 401);
        },
      ),
      { numRuns: 500 },
    );
  });
});
