import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { setAlias } from '#app/models.ts';
import { ENV } from '#contracts';
import { summarizeManifest } from '#core/registry/rules.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { createModelsHandler, handler } from '#handlers/models.ts';
import { resetRoot } from '#runtime/root.ts';
import type { LocalDynamo } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';
import { freshRegistry, startDynalite } from './harness.ts';

const context = { awsRequestId: 'req-123' } as Context;

function event(
  routeKey: string,
  rawPath: string,
  opts: { pathParameters?: Record<string, string>; query?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const method = routeKey === '$default' ? 'GET' : routeKey.split(' ')[0];
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    headers: {},
    queryStringParameters: opts.query,
    pathParameters: opts.pathParameters,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-123',
      routeKey,
      stage: '$default',
      time: '01/Jan/2025:00:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

async function seed(registry: ModelRegistry) {
  const summary = summarizeManifest(fixturePackage().manifest);
  for (let i = 0; i < 2; i++) {
    const v = await registry.register({
      name: 'cpu-model',
      sha256: 'b'.repeat(64),
      summary,
      actor: 'ci',
      store: async (n) => `file:///store/cpu-model/${n}`,
    });
    await registry.approve('cpu-model', v.version, { actor: 'bob' });
  }
  await setAlias({ registry }, 'cpu-model', 'production', 1, { actor: 'carol' });
  await setAlias({ registry }, 'cpu-model', 'production', 2, { actor: 'carol' });
}

const body = (r: { body?: string }) => JSON.parse(r.body ?? 'null');

describe('models handler on dynalite', () => {
  let db: LocalDynamo;
  let call: ReturnType<typeof createModelsHandler>;
  let clock: ReturnType<typeof steppingClock>;
  beforeAll(async () => {
    db = await startDynalite();
    clock = steppingClock();
    const { registry } = await freshRegistry(db, clock);
    await seed(registry);
    call = createModelsHandler({ registry, store: new FsArtifactStore({ root: '/nonexistent' }) });
  });
  afterAll(async () => db.close());

  it('lists models with their latest version and aliases', async () => {
    const r = await call(event('GET /v1/models', '/v1/models'), context);
    expect(r.statusCode).toBe(200);
    expect(body(r).models).toEqual([
      expect.objectContaining({ name: 'cpu-model', latestVersion: 2, aliases: { production: 2 } }),
    ]);
  });

  it('lists the versions of a model by routeKey and by raw path alike', async () => {
    const byKey = await call(
      event('GET /v1/models/{model}/versions', '/v1/models/cpu-model/versions', {
        pathParameters: { model: 'cpu-model' },
      }),
      context,
    );
    const byPath = await call(event('$default', '/v1/models/cpu-model/versions'), context);
    expect(byKey.statusCode).toBe(200);
    expect(body(byPath)).toEqual(body(byKey));
    const b = body(byKey);
    expect(b.aliases).toEqual({ production: 2 });
    expect(b.revisions).toEqual({ production: 2 });
    expect(b.versions.map((v: { version: number; approval: string }) => [v.version, v.approval])).toEqual([
      [1, 'Approved'],
      [2, 'Approved'],
    ]);
  });

  it('returns the history, filtered by alias on request', async () => {
    const all = body(await call(event('$default', '/v1/models/cpu-model/history'), context));
    expect(all.events.map((e: { type: string }) => e.type)).toEqual([
      'registered',
      'approved',
      'registered',
      'approved',
      'alias-set',
      'alias-set',
    ]);
    const prod = body(
      await call(
        event('$default', '/v1/models/cpu-model/history', { query: { alias: 'production' } }),
        context,
      ),
    );
    expect(prod.events.map((e: { to: number }) => e.to)).toEqual([1, 2]);
  });

  it('answers which version served production at a time', async () => {
    const events = body(await call(event('$default', '/v1/models/cpu-model/history'), context)).events;
    const firstMove = events.find((e: { type: string }) => e.type === 'alias-set').at;
    const r = await call(
      event('GET /v1/models/{model}/history', '/v1/models/cpu-model/history', {
        pathParameters: { model: 'cpu-model' },
        query: { at: firstMove },
      }),
      context,
    );
    expect(body(r)).toMatchObject({ alias: 'production', at: firstMove, version: 1 });
    const early = await call(
      event('$default', '/v1/models/cpu-model/history', { query: { at: '2020-01-01T00:00:00Z' } }),
      context,
    );
    expect(body(early).version).toBeNull();
  });

  it('answers an unknown model with a 404 ModelNotFound error body', async () => {
    const r = await call(event('$default', '/v1/models/ghost/versions'), context);
    expect(r.statusCode).toBe(404);
    expect(body(r).error).toMatchObject({ code: 'ModelNotFound', message: "Model 'ghost' does not exist" });
  });

  it('answers an invalid model name or query with a 400, and an unknown path with a 404', async () => {
    const bad = await call(event('$default', '/v1/models/Bad%20Name/versions'), context);
    expect(bad.statusCode).toBe(400);
    expect(body(bad).error.code).toBe('BadRequest');
    const badAt = await call(
      event('$default', '/v1/models/cpu-model/history', { query: { at: 'yesterday' } }),
      context,
    );
    expect(badAt.statusCode).toBe(400);
    const unknown = await call(event('$default', '/v1/nothing'), context);
    expect(unknown.statusCode).toBe(404);
  });

  it('wires the default handler from the environment', async () => {
    const { registry, tableName } = await freshRegistry(db, clock);
    await seed(registry);
    process.env[ENV.REGISTRY_TABLE] = tableName;
    process.env[ENV.DYNAMODB_ENDPOINT] = db.endpoint;
    process.env[ENV.ARTIFACT_DIR] = '/nonexistent';
    resetRoot();
    const r = await handler(event('GET /v1/models', '/v1/models'), context);
    resetRoot();
    expect(r.statusCode).toBe(200);
    expect(body(r).models.map((m: { name: string }) => m.name)).toEqual(['cpu-model']);
  });
});
