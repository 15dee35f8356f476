import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { FirehoseCaptureSink } from '#adapters/firehose-captures.ts';
import { LocalFirehose } from '#adapters/firehose-local.ts';
import { FsCaptureObjects, ParquetCaptureReader } from '#adapters/parquet-captures-reader.ts';
import { bootstrapDefaultModel } from '#app/bootstrap.ts';
import type { CapturedRow, RecentCaptureReader } from '#core/ports.ts';
import { createCapturesHandler } from '#handlers/captures.ts';
import type { HttpEvent } from '#runtime/http.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { DEFAULT_MODEL_DIR } from '../drift-handlers/helpers.ts';

const context = { awsRequestId: 'req-1' } as Context;

const get = (model: string, query?: Record<string, string>): HttpEvent =>
  ({
    version: '2.0',
    routeKey: 'GET /v1/models/{model}/captures',
    rawPath: `/v1/models/${model}/captures`,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: {},
    pathParameters: { model },
    ...(query ? { queryStringParameters: query } : {}),
    isBase64Encoded: false,
    requestContext: {
      requestId: 'req-1',
      http: { method: 'GET' },
      authorizer: { lambda: { keyId: 'k', scope: 'admin' } },
    },
  }) as unknown as HttpEvent;

/** 150 rows of `default`, one every 90 s from 09:20 to 13:03 UTC: five hour partitions. */
const T0 = Date.parse('2025-03-01T09:20:00.000Z');
const data: CapturedRow[] = Array.from({ length: 150 }, (_, i) => ({
  model: 'default',
  version: 1,
  at: new Date(T0 + i * 90_000).toISOString(),
  requestId: `req-${i}`,
  index: i % 3,
  features: { cpu: i + 0.5, memory: 40, network: 400, disk_io: 90, latency: i % 2 ? 1e16 : 1 / 3 },
  score: 0.3 + i / 1e4,
  anomaly: i % 10 === 0,
  sampleRate: i % 10 === 0 ? 1 : 0.5,
}));
/** What the route must answer for [from, to) and a limit: the rows in the window, newest first. */
const expected = (from: string, to: string, limit: number) =>
  data
    .filter((r) => r.at >= from && r.at < to)
    .reverse()
    .slice(0, limit)
    .map((r) => r.requestId);

describe.each(['dynamodb', 'firehose'] as const)(
  'GET /v1/models/{model}/captures (%s path)',
  (capturePath) => {
    let dynamo: LocalDynamo;
    let dir: string;
    let handler: ReturnType<typeof createCapturesHandler>;
    const call = async (query: Record<string, string>, model = 'default') => {
      const res = await handler(get(model, query), context);
      return { status: res.statusCode, body: JSON.parse(res.body ?? '') };
    };

    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'vigil-captures-api-'));
      dynamo = await startDynalite();
      await ensureTables(dynamo.endpoint, ['reg', 'cap']);
      const client = documentClient(dynamo.endpoint);
      const registry = new DynamoRegistry({ client, tableName: 'reg' });
      await bootstrapDefaultModel(
        { registry, store: new FsArtifactStore({ root: path.join(dir, 'a') }) },
        DEFAULT_MODEL_DIR,
      );
      let captures: RecentCaptureReader;
      if (capturePath === 'dynamodb') {
        // Three write shards: the reader must merge them back into one time order.
        const sink = new DynamoCaptureSink({ client, tableName: 'cap', shards: 3 });
        expect((await sink.write(data)).written).toBe(data.length);
        captures = sink;
      } else {
        const root = path.join(dir, 'parquet');
        const stream = new LocalFirehose({ root, bufferMs: 0 });
        expect((await new FirehoseCaptureSink({ client: stream, streamName: 's' }).write(data)).written).toBe(
          data.length,
        );
        await stream.close();
        captures = new ParquetCaptureReader(new FsCaptureObjects(root));
      }
      handler = createCapturesHandler({ captures, registry, now: () => new Date('2025-03-01T13:30:00Z') });
    });
    afterAll(async () => {
      await dynamo?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('returns the 20 newest rows of the last hour by default, newest first, values exact', async () => {
      const { status, body } = await call({});
      expect(status).toBe(200);
      expect(body).toMatchObject({
        model: 'default',
        from: '2025-03-01T12:30:00.000Z',
        to: '2025-03-01T13:30:00.000Z',
      });
      expect(body.captures.map((c: CapturedRow) => c.requestId)).toEqual(
        expected('2025-03-01T12:30:00.000Z', '2025-03-01T13:30:00.000Z', 20),
      );
      const newest = data[data.length - 1];
      expect(body.captures[0]).toEqual({
        at: newest.at,
        version: 1,
        requestId: newest.requestId,
        index: newest.index,
        features: newest.features,
        score: newest.score,
        anomaly: newest.anomaly,
        sampleRate: newest.sampleRate,
      });
    });

    it('reads back across hour partitions until the limit is met, within [from, to)', async () => {
      const from = data[5].at;
      const to = data[120].at;
      const { body } = await call({ from, to, limit: '100' });
      expect(body.captures.map((c: CapturedRow) => c.requestId)).toEqual(expected(from, to, 100));
      expect(body.captures).toHaveLength(100);
      // `to` is exclusive, `from` inclusive.
      const small = await call({ from: data[10].at, to: data[13].at, limit: '100' });
      expect(small.body.captures.map((c: CapturedRow) => c.requestId)).toEqual([
        'req-12',
        'req-11',
        'req-10',
      ]);
    });

    it('answers an empty list for a window without captures', async () => {
      const { status, body } = await call({ from: '2025-02-01T00:00:00Z', to: '2025-02-01T05:00:00Z' });
      expect(status).toBe(200);
      expect(body.captures).toEqual([]);
    });

    it.each([
      [{ limit: '0' }, /limit/],
      [{ limit: '101' }, /limit/],
      [{ limit: '2.5' }, /integer/],
      [{ from: 'yesterday' }, /from/],
      [{ to: '2025-03-01' }, /to/],
      [{ from: '2025-03-01T12:00:00Z', to: '2025-03-01T11:00:00Z' }, /must be before/],
      [{ from: '2025-03-01T00:00:00Z', to: '2025-03-02T00:00:01Z' }, /at most 24 hours/],
      [{ cursor: 'x' }, /Invalid request/],
    ])('refuses %o with 400 BadRequest', async (query, message) => {
      const { status, body } = await call(query as Record<string, string>);
      expect(status).toBe(400);
      expect(body.error.code).toBe('BadRequest');
      expect(body.error.message).toMatch(message);
    });

    it('answers 404 ModelNotFound for a model the registry does not know', async () => {
      const { status, body } = await call({}, 'nosuch');
      expect(status).toBe(404);
      expect(body.error.code).toBe('ModelNotFound');
    });
  },
);
