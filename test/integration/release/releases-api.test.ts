import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { DynamoReleaseStore } from '#adapters/dynamodb-releases.ts';
import { setAlias } from '#app/models.ts';
import { summarizeManifest } from '#core/registry/rules.ts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import type { ReleaseExecutionInput } from '#core/release/starter.ts';
import { createModelsHandler } from '#handlers/models.ts';
import { createReleasesHandler } from '#handlers/releases.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';

const context = { awsRequestId: 'req-1' } as Context;

/** An API Gateway event as the authorizer passes it on (admin caller `k-admin`). */
function event(method: string, rawPath: string, body?: unknown): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    requestContext: {
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' },
      requestId: 'req-1',
      authorizer: { lambda: { keyId: 'k-admin', scope: 'admin' } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

describe('releases API on dynalite', () => {
  let db: LocalDynamo;
  let releasesCall: ReturnType<typeof createReleasesHandler>;
  let duringCodeDeploy: ReturnType<typeof createReleasesHandler>;
  let modelsCall: ReturnType<typeof createModelsHandler>;
  const started: ReleaseExecutionInput[] = [];
  beforeAll(async () => {
    db = await startDynalite();
    const tableName = `releases-api-${process.pid}`;
    await ensureTables(db.endpoint, [tableName]);
    const client = documentClient(db.endpoint);
    const clock = steppingClock();
    const registry = new DynamoRegistry({ client, tableName, clock });
    const releases = new DynamoReleaseStore({ client, tableName, clock });
    const summary = summarizeManifest(fixturePackage().manifest);
    for (let i = 0; i < 2; i++) {
      const v = await registry.register({
        name: 'cpu-model',
        sha256: 'c'.repeat(64),
        summary,
        actor: 'ci',
        store: async (n) => `file:///store/cpu-model/${n}`,
      });
      await registry.approve('cpu-model', v.version, { actor: 'bob' });
    }
    await setAlias({ registry }, 'cpu-model', 'production', 1, { actor: 'carol' });
    releasesCall = createReleasesHandler({
      releases,
      registry,
      codeDeployments: { running: async () => [] },
      settings: parseReleaseSettings({}),
      executions: {
        async start(input) {
          started.push(input);
          return { executionArn: `arn:aws:states:local:0:execution:release:${started.length}` };
        },
      },
    });
    duringCodeDeploy = createReleasesHandler({
      releases,
      registry,
      codeDeployments: { running: async () => ['d-7XKQ2ZBDE'] },
      settings: parseReleaseSettings({}),
      executions: {
        async start() {
          throw new Error('must not start during a code deployment');
        },
      },
    });
    modelsCall = createModelsHandler({
      registry,
      store: new FsArtifactStore({ root: '/nonexistent' }),
      releases,
    });
  });
  afterAll(async () => db.close());

  const body = (r: { body?: string }) => JSON.parse(r.body ?? 'null');

  it('refuses to start a release during a code deployment of the score function (409), recording nothing', async () => {
    const r = await duringCodeDeploy(event('POST', '/v1/models/cpu-model/releases', { version: 2 }), context);
    expect(r.statusCode).toBe(409);
    expect(body(r).error).toMatchObject({
      code: 'Conflict',
      message: expect.stringContaining('d-7XKQ2ZBDE'),
    });
    const list = await releasesCall(event('GET', '/v1/models/cpu-model/releases'), context);
    expect(body(list).releases).toEqual([]);
  });

  it('starts a release (202), refuses a second with 409, and lists it', async () => {
    const r = await releasesCall(event('POST', '/v1/models/cpu-model/releases', { version: 2 }), context);
    expect(r.statusCode).toBe(202);
    expect(body(r)).toMatchObject({
      model: 'cpu-model',
      candidateVersion: 2,
      baselineVersion: 1,
      policy: 'canary10-15m',
      startedBy: 'api:k-admin',
      executionArn: 'arn:aws:states:local:0:execution:release:1',
    });
    expect(started).toEqual([
      expect.objectContaining({ model: 'cpu-model', version: 2, releaseId: body(r).releaseId }),
    ]);

    const again = await releasesCall(event('POST', '/v1/models/cpu-model/releases', { version: 2 }), context);
    expect(again.statusCode).toBe(409);
    expect(body(again).error.code).toBe('Conflict');
    expect(started).toHaveLength(1);

    const list = await releasesCall(event('GET', '/v1/models/cpu-model/releases'), context);
    expect(list.statusCode).toBe(200);
    expect(body(list).releases.map((x: { releaseId: string }) => x.releaseId)).toEqual([body(r).releaseId]);
  });

  it('refuses a hand promotion of production while the release holds the model', async () => {
    const r = await modelsCall(
      event('PUT', '/v1/models/cpu-model/aliases/production', { version: 2, expectedRevision: 1 }),
      context,
    );
    expect(r.statusCode).toBe(409);
    expect(body(r).error.message).toMatch(/holds production/);
  });

  it('aborts the running release (202, an execution that only rolls back); 404 unknown, 400 bad input', async () => {
    const [held] = body(await releasesCall(event('GET', '/v1/models/cpu-model/releases'), context)).releases;
    const path = `/v1/models/cpu-model/releases/${held.releaseId}/abort`;
    const r = await releasesCall(event('POST', path, { reason: 'bad labels' }), context);
    expect(r.statusCode).toBe(202);
    expect(body(r)).toMatchObject({
      release: { releaseId: held.releaseId },
      abortExecutionArn: expect.any(String),
    });
    expect(started.at(-1)).toEqual({
      model: 'cpu-model',
      version: 2,
      policy: 'canary10-15m',
      releaseId: held.releaseId,
      startedBy: 'api:k-admin',
      abort: { by: 'api:k-admin', reason: 'bad labels' },
    });
    // No body: the reason defaults.
    const bare = await releasesCall(event('POST', path), context);
    expect(bare.statusCode).toBe(202);
    expect(started.at(-1)?.abort).toEqual({ by: 'api:k-admin', reason: 'aborted by hand' });

    const unknown = await releasesCall(
      event('POST', '/v1/models/cpu-model/releases/nope-1/abort', {}),
      context,
    );
    expect(unknown.statusCode).toBe(404);
    for (const [p, b] of [
      ['/v1/models/cpu-model/releases/%20bad/abort', {}],
      [path, { reason: 1 }],
      [path, { reason: 'x', extra: true }],
    ] as const) {
      const bad = await releasesCall(event('POST', p, b), context);
      expect(bad.statusCode, `${p} ${JSON.stringify(b)}`).toBe(400);
    }
  });

  it('answers bad input with 400, never a 500', async () => {
    for (const b of [{}, { version: 0 }, { version: 2, policy: 'yolo' }, { version: 2, extra: true }]) {
      const r = await releasesCall(event('POST', '/v1/models/cpu-model/releases', b), context);
      expect(r.statusCode, JSON.stringify(b)).toBe(400);
    }
    const r = await releasesCall(event('POST', '/v1/models/Bad Name/releases', { version: 2 }), context);
    expect(r.statusCode).toBe(400);
  });
});
