import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '#contracts';
import { httpHandler, json } from '#runtime/http.ts';

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
