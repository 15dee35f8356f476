import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturePartition, captureShard, DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import type { CapturedRow } from '#core/ports.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';

const TABLE = 'captures-test';

function rows(n: number, startIso: string, stepMs: number, model = 'cpu-model'): CapturedRow[] {
  const t0 = Date.parse(startIso);
  return Array.from({ length: n }, (_, i) => ({
    model,
    version: 2,
    at: new Date(t0 + i * stepMs).toISOString(),
    requestId: `req-${Math.floor(i / 10)}`,
    index: i % 10,
    features: { cpu: i, mem: 2 * i },
    score: 0.4,
    anomaly: false,
    sampleRate: i % 2 ? 0.25 : 1,
    ...(i % 3 === 0 ? { shadow: { version: 3, score: 0.7, anomaly: true } } : {}),
  }));
}

/**
 * A DocumentClient that behaves like a throttled DynamoDB table: for the first
 * `throttledCalls` BatchWrite calls it really writes only the first half of the
 * items and hands the rest back as UnprocessedItems, as DynamoDB does under
 * provisioned-throughput pressure. Every other call goes to dynalite untouched.
 */
function throttling(real: DynamoDBDocumentClient, throttledCalls: number) {
  const stats = { batchCalls: 0, unprocessedReturned: 0 };
  let budget = throttledCalls;
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (cmd: unknown) => {
        if (cmd instanceof BatchWriteCommand) {
          stats.batchCalls++;
          if (budget > 0) {
            budget--;
            const [table, reqs] = Object.entries(cmd.input.RequestItems ?? {})[0];
            const keep = reqs.slice(0, Math.ceil(reqs.length / 2));
            const rest = reqs.slice(keep.length);
            if (keep.length) await target.send(new BatchWriteCommand({ RequestItems: { [table]: keep } }));
            stats.unprocessedReturned += rest.length;
            return { UnprocessedItems: rest.length ? { [table]: rest } : {} };
          }
        }
        return target.send(cmd as never);
      };
    },
  });
  return { client, stats };
}

describe('DynamoCaptureSink against dynalite', () => {
  let db: LocalDynamo;
  let real: DynamoDBDocumentClient;
  beforeAll(async () => {
    db = await startDynalite();
    await ensureTables(db.endpoint, [TABLE]);
    real = documentClient(db.endpoint);
  });
  afterAll(async () => {
    real.destroy();
    await db.close();
  });

  it('writes in chunks of 25 and reads the window back across hour partitions, oldest first', async () => {
    const { client, stats } = throttling(real, 0);
    const sink = new DynamoCaptureSink({ client, tableName: TABLE });
    const data = rows(130, '2025-03-01T09:50:00.000Z', 10_000); // 09:50 → 10:11:30, two partitions
    expect(await sink.write(data)).toEqual({ written: 130, parked: 0, lost: 0 });
    expect(stats.batchCalls).toBe(Math.ceil(130 / 25));
    const back = await sink.readWindow('cpu-model', '2025-03-01T09:00:00Z', '2025-03-01T11:00:00Z');
    expect(back).toHaveLength(130);
    expect(back[0]).toEqual(data[0]);
    // The capture contract's optional fields survive the round trip.
    expect(back[1]).toEqual(data[1]);
    expect(back.filter((r) => r.shadow).length).toBe(data.filter((r) => r.shadow).length);
    expect(back.map((r) => r.at)).toEqual(data.map((r) => r.at));
    // Half-open window [from, to): the row at exactly `to` is excluded.
    const part = await sink.readWindow('cpu-model', data[10].at, data[70].at);
    expect(part.map((r) => r.at)).toEqual(data.slice(10, 70).map((r) => r.at));
    expect(await sink.readWindow('other-model', '2025-03-01T09:00:00Z', '2025-03-01T11:00:00Z')).toEqual([]);
  });

  it('spreads a model-hour over its write shards and reads every shard back, oldest first', async () => {
    const shards = 8;
    const sink = new DynamoCaptureSink({ client: real, tableName: TABLE, shards });
    // 60 requests of 10 rows across 09:30 → 10:29: two hours, every shard of both written.
    const data = rows(600, '2025-03-02T09:30:00.000Z', 6_000, 'busy-model');
    expect(await sink.write(data)).toEqual({ written: 600, parked: 0, lost: 0 });
    // Counted straight from the table, key by key, as the layout contract spells the keys.
    const perKey = new Map<string, number>();
    for (const hour of ['2025-03-02T09', '2025-03-02T10']) {
      for (let shard = 0; shard < shards; shard++) {
        const pk = `CAP#busy-model#${hour}#${shard}`;
        const res = await real.send(
          new QueryCommand({
            TableName: TABLE,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            Select: 'COUNT',
          }),
        );
        perKey.set(pk, res.Count ?? 0);
      }
    }
    expect([...perKey.values()].reduce((a, b) => a + b, 0)).toBe(600);
    // No shard is left empty or takes the lion's share (30 requests per hour over 8 shards).
    expect(Math.min(...perKey.values())).toBeGreaterThan(0);
    expect(Math.max(...perKey.values())).toBeLessThanOrEqual(150);
    const back = await sink.readWindow('busy-model', '2025-03-02T09:00:00Z', '2025-03-02T11:00:00Z');
    expect(back.map((r) => [r.at, r.requestId, r.index])).toEqual(
      data.map((r) => [r.at, r.requestId, r.index]),
    );
    // A reader that does not know the shard count finds nothing under the one-shard key.
    const unsharded = new DynamoCaptureSink({ client: real, tableName: TABLE });
    expect(await unsharded.readWindow('busy-model', '2025-03-02T09:00:00Z', '2025-03-02T11:00:00Z')).toEqual(
      [],
    );
  });

  it('keys a sharded row by its request id, so one request stays in one shard', () => {
    const sink = new DynamoCaptureSink({ client: real, tableName: TABLE, shards: 4 });
    const [a, b] = rows(2, '2025-03-01T09:50:00.000Z', 0);
    const shard = captureShard(a.requestId, 4);
    expect(sink.toItem(a).PK).toBe(`CAP#cpu-model#2025-03-01T09#${shard}`);
    expect(sink.toItem(b).PK).toBe(sink.toItem(a).PK);
    expect(captureShard('anything', 1)).toBe(0);
  });

  it('stores the hour partition key and a TTL in epoch seconds', () => {
    const sink = new DynamoCaptureSink({ client: real, tableName: TABLE, ttlDays: 7 });
    const [row] = rows(1, '2025-03-01T09:50:00.000Z', 0);
    const item = sink.toItem(row);
    expect(item.PK).toBe(capturePartition('cpu-model', row.at));
    expect(item.PK).toBe('CAP#cpu-model#2025-03-01T09');
    expect(item.SK).toBe('2025-03-01T09:50:00.000Z#req-0#0000');
    expect(item.ttl).toBe(Date.parse(row.at) / 1000 + 7 * 86_400);
  });

  it('retries UnprocessedItems under throttling with backoff and loses nothing', async () => {
    const { client, stats } = throttling(real, 3);
    const delays: number[] = [];
    const sink = new DynamoCaptureSink({
      client,
      tableName: TABLE,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 1, // upper edge of the jitter, to see the exponential caps
    });
    const data = rows(25, '2025-03-02T00:00:00.000Z', 1000);
    expect(await sink.write(data)).toEqual({ written: 25, parked: 0, lost: 0 });
    expect(stats.unprocessedReturned).toBeGreaterThan(0);
    expect(delays).toEqual([25, 50, 100]);
    const back = await sink.readWindow('cpu-model', '2025-03-02T00:00:00Z', '2025-03-02T01:00:00Z');
    expect(back).toHaveLength(25);
  });

  it('reports rows it gave up on as failed instead of throwing', async () => {
    const { client } = throttling(real, 1000);
    const failures: number[] = [];
    const sink = new DynamoCaptureSink({
      client,
      tableName: TABLE,
      maxAttempts: 3,
      sleep: async () => {},
      onFailure: (n) => failures.push(n),
    });
    const data = rows(30, '2025-03-03T00:00:00.000Z', 1000);
    const r = await sink.write(data);
    // Chunk of 25: 13 + 6 + 3 written, 3 left; chunk of 5: 3 + 1 + 1 written, 0 left.
    expect(r).toMatchObject({ written: 27, parked: 0, lost: 3 });
    expect(failures).toEqual([3]);
  });

  it('gives up at once on a batch DynamoDB refuses as invalid (no retry can fix it)', async () => {
    const { client, stats } = throttling(real, 0);
    const delays: number[] = [];
    const failures: Array<[number, string]> = [];
    const sink = new DynamoCaptureSink({
      client,
      tableName: TABLE,
      sleep: async (ms) => {
        delays.push(ms);
      },
      onFailure: (n, reason) => failures.push([n, reason]),
    });
    // Outside DynamoDB's number range (magnitudes below 1e-130 are refused).
    const bad = rows(3, '2025-03-04T00:00:00.000Z', 1000).map((r) => ({
      ...r,
      features: { cpu: 1e-140, mem: 1 },
    }));
    expect(await sink.write(bad)).toMatchObject({ written: 0, parked: 0, lost: 3 });
    // One refused batch, then each row alone (also refused): no backoff, no retry of the same request.
    expect(stats.batchCalls).toBe(4);
    expect(delays).toEqual([]);
    expect(failures).toHaveLength(1);
    expect(failures[0][0]).toBe(3);
    expect(failures[0][1]).toMatch(/^ValidationException: /);
  });

  it('one refused row does not take the good rows of its chunk with it', async () => {
    const parked: number[] = [];
    const sink = new DynamoCaptureSink({
      client: real,
      tableName: TABLE,
      sleep: async () => {},
      park: async (r) => void parked.push(r.length),
    });
    const data = rows(25, '2025-03-05T00:00:00.000Z', 1000);
    const mixed = data.map((r, i) => (i === 7 ? { ...r, features: { cpu: 1e-140, mem: 1 } } : r));
    const r = await sink.write(mixed);
    expect(r).toMatchObject({ written: 24, parked: 0, lost: 1 });
    expect(r.reason).toMatch(/ValidationException/);
    // A row DynamoDB refuses is never parked: a replay would fail the same way forever.
    expect(parked).toEqual([]);
    expect(await sink.readWindow('cpu-model', '2025-03-05T00:00:00Z', '2025-03-05T01:00:00Z')).toHaveLength(
      24,
    );
  });

  it('stores every accepted value exactly, above 2^53 too, and reads it back the same', async () => {
    const sink = new DynamoCaptureSink({ client: real, tableName: TABLE, sleep: async () => {} });
    // Values inside float32's range that the marshaller refuses as plain numbers (> 2^53), a
    // float32 subnormal, doubles with 17 significant digits, a negative and zero.
    const values = [1e16, 3e38, -3.4028234663852886e38, 2 ** 53 + 2, 1.4e-45, 0.1, 1 / 3, -123.456, 0];
    const data = values.map((v, i) => ({
      ...rows(1, '2025-03-06T00:00:00.000Z', 0)[0],
      index: i,
      features: { cpu: v, mem: -v },
      score: 1 / 7,
    }));
    expect(await sink.write(data)).toEqual({ written: values.length, parked: 0, lost: 0 });
    const back = await sink.readWindow('cpu-model', '2025-03-06T00:00:00Z', '2025-03-06T01:00:00Z');
    expect(back.map((r) => r.features.cpu)).toEqual(values);
    // DynamoDB numbers have no negative zero: -0 reads back as 0 (the same value to every reader).
    expect(back.map((r) => r.features.mem)).toEqual(values.map((v) => (v === 0 ? 0 : -v)));
    expect(back.every((r) => r.score === 1 / 7)).toBe(true);
  });
});
