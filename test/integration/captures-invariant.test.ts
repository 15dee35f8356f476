import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { PutRecordBatchCommandInput } from '@aws-sdk/client-firehose';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileCaptureSpool } from '#adapters/capture-spool-fs.ts';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { FirehoseCaptureSink } from '#adapters/firehose-captures.ts';
import { LocalFirehose } from '#adapters/firehose-local.ts';
import { logger, PowertoolsMetricsSink } from '#adapters/observability.ts';
import { FsCaptureObjects, ParquetCaptureReader } from '#adapters/parquet-captures-reader.ts';
import { type SendMessageBatchClient, SqsCaptureParking } from '#adapters/sqs-capture-parking.ts';
import { drainParkedCaptures, parkedBatchesOf } from '#app/drain-captures.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { scoreRows } from '#app/score.ts';
import { singlePackageCache } from '#app/serve.ts';
import { METRICS } from '#contracts';
import { Rng } from '#core/forest/rng.ts';
import type { CapturedRow } from '#core/ports.ts';
import { scoreHttp } from '#handlers/score.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../local/dynalite.ts';
import { runOnBody } from '../../local/run-on-body.ts';

const TABLE = 'captures-invariant';

type Fault = 'none' | 'throttle' | 'outage' | 'unprocessed';

/**
 * A DocumentClient in front of dynalite that injects what a real table does on a bad day:
 * `throttle` — every BatchWrite throws ProvisionedThroughputExceededException (after the SDK's
 * own retries); `outage` — the endpoint refuses connections (ECONNREFUSED); `unprocessed` —
 * half of every batch comes back as UnprocessedItems. Reads always reach dynalite.
 */
function faulty(real: DynamoDBDocumentClient) {
  const state: { fault: Fault } = { fault: 'none' };
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (cmd: unknown) => {
        if (cmd instanceof BatchWriteCommand && state.fault !== 'none') {
          if (state.fault === 'throttle') {
            throw Object.assign(new Error('The level of configured provisioned throughput was exceeded'), {
              name: 'ProvisionedThroughputExceededException',
              $fault: 'client',
              $metadata: { httpStatusCode: 400 },
            });
          }
          if (state.fault === 'outage') {
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
          }
          const [table, reqs] = Object.entries(cmd.input.RequestItems ?? {})[0];
          const keep = reqs.slice(0, Math.ceil(reqs.length / 2));
          await target.send(new BatchWriteCommand({ RequestItems: { [table]: keep } }));
          return { UnprocessedItems: { [table]: reqs.slice(keep.length) } };
        }
        return target.send(cmd as never);
      };
    },
  });
  return { client, state };
}

/**
 * An SQS queue in memory, as far as parking and its event source use one: SendMessageBatch
 * appends messages (or, while `down`, refuses every entry as SQS reports a failed entry), a
 * receive sees every message, and only the messages a drain acknowledged are deleted.
 */
function memoryQueue() {
  const messages: { messageId: string; body: string }[] = [];
  const state = { down: false, sent: 0 };
  const client: SendMessageBatchClient = {
    async sendMessageBatch(input) {
      const entries = input.Entries ?? [];
      if (state.down)
        return {
          Failed: entries.map((e) => ({ Id: e.Id, Code: 'KMS.ThrottlingException', SenderFault: false })),
        };
      for (const e of entries) messages.push({ messageId: `m${state.sent++}`, body: e.MessageBody ?? '' });
      return { Failed: [] };
    },
  };
  /** The event source's part: deliver every message, delete all but those the drain keeps. */
  const deliver = async (drain: (records: typeof messages) => Promise<readonly string[]>) => {
    const delivered = messages.splice(0, messages.length);
    const keep = new Set(await drain(delivered));
    messages.unshift(...delivered.filter((m) => keep.has(m.messageId)));
  };
  const rowsHeld = () =>
    messages.reduce((n, m) => n + (JSON.parse(m.body) as { rows: unknown[] }).rows.length, 0);
  return { client, messages, state, deliver, rowsHeld };
}

/** Sums every EMF metric named in `names` over the lines `fn` printed. */
async function metricSums(fn: () => Promise<void>): Promise<Record<string, number>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  const sums: Record<string, number> = {};
  for (const l of lines.filter((x) => x.startsWith('{"_aws"'))) {
    const emf = JSON.parse(l) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> };
    };
    for (const m of emf._aws.CloudWatchMetrics[0].Metrics)
      sums[m.Name] = (sums[m.Name] ?? 0) + Number(emf[m.Name]);
  }
  return sums;
}

/**
 * The invariant's buckets from the emitted metrics alone, asserted to add up: every scored row
 * (`RowsScored` = `scored`) is written, parked, sampled out or counted lost.
 */
function accounted(sums: Record<string, number>, scored: number) {
  const written = sums[METRICS.capturesWritten];
  const parked = sums[METRICS.capturesParked];
  const sampledOut = sums[METRICS.capturesSampledOut];
  const lost = sums[METRICS.capturesLost] ?? 0;
  expect(sums[METRICS.rowsScored]).toBe(scored);
  expect(written + parked + sampledOut + lost).toBe(scored);
  return { written, parked, sampledOut, lost };
}

describe('capture no-loss invariant under injected faults', () => {
  let db: LocalDynamo;
  let real: DynamoDBDocumentClient;
  let dir: string;
  beforeAll(async () => {
    // Dev mode: EMF goes through console.log, where metricSums reads it.
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    db = await startDynalite();
    await ensureTables(db.endpoint, [TABLE]);
    real = documentClient(db.endpoint);
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-spool-'));
  });
  afterAll(async () => {
    real.destroy();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('scored = written + parked + sampledOut + lost, and a replay after the outage stores every parked row', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../models/default'));
    const { client, state } = faulty(real);
    const spool = new FileCaptureSpool(path.join(dir, 'spool.jsonl'));
    const sink = new DynamoCaptureSink({
      client,
      tableName: TABLE,
      maxAttempts: 3,
      sleep: async () => {},
      park: (rows, reason) => spool.park(rows, reason),
    });
    const seeded = new Rng(13);
    const rng = () => seeded.next();
    const metrics = new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' });
    const core = scoreHttp(
      scoreRows({
        models: singlePackageCache(pkg),
        captures: sink,
        captureSampleRate: 0.6,
        maxRows: 1000,
        metrics: new PowertoolsMetricsSink(metrics),
        logger,
        random: rng,
        now: () => new Date('2026-01-05T10:20:00.000Z'),
      }),
      { alias: 'production' },
    );
    const schedule: Fault[] = [
      'none',
      'throttle',
      'outage',
      'unprocessed',
      'none',
      'outage',
      'throttle',
      'none',
    ];
    let scored = 0;
    const sums = await metricSums(async () => {
      for (const [i, fault] of schedule.entries()) {
        state.fault = fault;
        // Rows with values plain DynamoDB numbers refuse (> 2^53) among ordinary ones.
        const n = 20 + 7 * i;
        const rows = Array.from({ length: n }, (_, k) => ({
          cpu: k % 5 === 0 ? 1e16 : 10 + k,
          memory: 50 + (k % 7),
          network: k % 3 === 0 ? 3e38 : 400 + k,
          disk_io: 90,
          latency: 20 + (k % 11),
        }));
        const res = await runOnBody(core, 'default', 'score', JSON.stringify({ rows }));
        expect(res.status).toBe(200);
        scored += n;
      }
    });
    // The invariant, from the emitted metrics alone.
    const { written, parked, sampledOut, lost } = accounted(sums, scored);
    // Faults really happened, and sampling really left rows out.
    expect(parked).toBeGreaterThan(0);
    expect(sampledOut).toBeGreaterThan(0);
    // Throttling and an outage are retryable: parked, never lost.
    expect(lost).toBe(0);
    // …and the buckets are true: the table holds `written` rows, the spool `parked`.
    const window = ['2026-01-05T10:00:00Z', '2026-01-05T11:00:00Z'] as const;
    expect(await sink.readWindow('default', ...window)).toHaveLength(written);
    expect(await spool.pending()).toHaveLength(parked);

    // The replay is the parking queue consumer's drain over the same sink (its own park hook).
    const drainDeps = {
      openSink: (park: (rows: readonly CapturedRow[], reason: string) => Promise<void>) =>
        new DynamoCaptureSink({ client, tableName: TABLE, maxAttempts: 3, sleep: async () => {}, park }),
      repark: (rows: readonly CapturedRow[], reason: string) => spool.park(rows, reason),
      metrics: new PowertoolsMetricsSink(metrics),
      logger,
    };
    const drain = (batches: Parameters<typeof drainParkedCaptures>[0]) =>
      drainParkedCaptures(batches, drainDeps);

    // A replay during the outage keeps every batch where it is (none lost, none written twice).
    state.fault = 'outage';
    const during = await spool.replay(drain);
    expect(during).toMatchObject({ read: parked, drained: 0, reparked: 0, kept: parked });
    expect(await spool.pending()).toHaveLength(parked);

    // Once the table is back, the replay stores every parked row, with its values exact.
    state.fault = 'none';
    let drainedMetric = 0;
    const drainSums = await metricSums(async () => {
      const after = await spool.replay(drain);
      expect(after).toMatchObject({ read: parked, drained: parked, reparked: 0, kept: 0 });
    });
    drainedMetric = drainSums[METRICS.capturesDrained];
    expect(drainedMetric).toBe(parked);
    expect(await spool.pending()).toHaveLength(0);
    const stored = await sink.readWindow('default', ...window);
    expect(stored).toHaveLength(written + parked);
    expect(stored.some((r) => r.features.cpu === 1e16 && r.features.network === 3e38)).toBe(true);
  });

  it('holds on the DynamoDB path in AWS: given-up rows parked in the SQS queue, drained back into the table', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../models/default'));
    const { client, state } = faulty(real);
    const queue = memoryQueue();
    const parking = new SqsCaptureParking(queue.client, 'https://sqs.example/parking');
    const park = (rows: readonly CapturedRow[], reason: string) => parking.park(rows, reason);
    const sink = new DynamoCaptureSink({
      client,
      tableName: TABLE,
      maxAttempts: 3,
      sleep: async () => {},
      park,
    });
    const seeded = new Rng(29);
    const rng = () => seeded.next();
    const metrics = new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' });
    const core = scoreHttp(
      scoreRows({
        models: singlePackageCache(pkg),
        captures: sink,
        captureSampleRate: 0.7,
        maxRows: 1000,
        metrics: new PowertoolsMetricsSink(metrics),
        logger,
        random: rng,
        now: () => new Date('2026-01-07T03:40:00.000Z'),
      }),
      { alias: 'production' },
    );
    // The last request meets an outage while the queue refuses too: those rows are the only loss.
    const schedule: { fault: Fault; queueDown: boolean }[] = [
      { fault: 'none', queueDown: false },
      { fault: 'throttle', queueDown: false },
      { fault: 'unprocessed', queueDown: false },
      { fault: 'outage', queueDown: false },
      { fault: 'none', queueDown: false },
      { fault: 'outage', queueDown: true },
    ];
    let scored = 0;
    const sums = await metricSums(async () => {
      for (const [i, step] of schedule.entries()) {
        state.fault = step.fault;
        queue.state.down = step.queueDown;
        const n = 30 + 5 * i;
        const rows = Array.from({ length: n }, (_, k) => ({
          cpu: k % 4 === 0 ? 1e16 : 10 + k,
          memory: 50 + (k % 7),
          network: 400 + k,
          disk_io: 90,
          latency: 20 + (k % 11),
        }));
        const res = await runOnBody(core, 'default', 'score', JSON.stringify({ rows }));
        expect(res.status).toBe(200);
        scored += n;
      }
    });
    queue.state.down = false;
    const { written, parked, sampledOut, lost } = accounted(sums, scored);
    expect(parked).toBeGreaterThan(0);
    expect(sampledOut).toBeGreaterThan(0);
    // Only the rows that found both the table and the queue refusing are lost.
    expect(lost).toBeGreaterThan(0);
    const window = ['2026-01-07T03:00:00Z', '2026-01-07T04:00:00Z'] as const;
    expect(await sink.readWindow('default', ...window)).toHaveLength(written);
    expect(queue.rowsHeld()).toBe(parked);

    // The parking queue's consumer: its handler's parsing and drain, over the table's sink.
    const drainDeps = {
      openSink: (p: (rows: readonly CapturedRow[], reason: string) => Promise<void>) =>
        new DynamoCaptureSink({ client, tableName: TABLE, maxAttempts: 3, sleep: async () => {}, park: p }),
      repark: park,
      metrics: new PowertoolsMetricsSink(metrics),
      logger,
    };
    const drain = async (records: readonly { messageId: string; body: string }[]) => {
      const { batches, malformed } = parkedBatchesOf(records);
      const r = await drainParkedCaptures(batches, drainDeps);
      return [...malformed, ...r.keep];
    };
    // While the table is down, every message stays in the queue: nothing written, nothing lost.
    state.fault = 'outage';
    const held = queue.messages.length;
    await queue.deliver(drain);
    expect(queue.messages).toHaveLength(held);
    expect(queue.rowsHeld()).toBe(parked);
    // Once it is back, the drain writes every parked row and the queue empties.
    state.fault = 'none';
    const drainSums = await metricSums(() => queue.deliver(drain));
    expect(drainSums[METRICS.capturesDrained]).toBe(parked);
    expect(queue.messages).toHaveLength(0);
    const stored = await sink.readWindow('default', ...window);
    expect(stored).toHaveLength(written + parked);
    expect(new Set(stored.map((r) => `${r.requestId}#${r.index}`)).size).toBe(written + parked);
    expect(stored.some((r) => r.features.cpu === 1e16)).toBe(true);
  });

  it('counts rows as lost, with the real reason, when there is nowhere to park them', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../models/default'));
    const { client, state } = faulty(real);
    const sink = new DynamoCaptureSink({ client, tableName: TABLE, maxAttempts: 2, sleep: async () => {} });
    state.fault = 'outage';
    const metrics = new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' });
    const core = scoreHttp(
      scoreRows({
        models: singlePackageCache(pkg),
        captures: sink,
        captureSampleRate: 1,
        maxRows: 100,
        metrics: new PowertoolsMetricsSink(metrics),
        logger,
      }),
      { alias: 'production' },
    );
    const row = { cpu: 1, memory: 2, network: 3, disk_io: 4, latency: 5 };
    const sums = await metricSums(async () => {
      const res = await runOnBody(core, 'default', 'score', JSON.stringify({ rows: [row, row, row] }));
      expect(res.status).toBe(200);
    });
    expect(sums[METRICS.capturesLost]).toBe(3);
    expect(sums[METRICS.captureErrors]).toBe(3);
    expect(sums[METRICS.capturesWritten]).toBe(0);
    const direct = await sink.write([
      {
        model: 'default',
        version: 1,
        at: new Date().toISOString(),
        requestId: 'r',
        index: 0,
        features: row,
        score: 0.5,
        anomaly: false,
      },
    ]);
    expect(direct).toMatchObject({ written: 0, parked: 0, lost: 1 });
    expect(direct.reason).toMatch(/ECONNREFUSED/);
  });

  it('holds on the Firehose path too: throttled and rejected entries parked, the rest in Parquet', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../models/default'));
    const root = path.join(dir, 'firehose');
    const stream = new LocalFirehose({ root, bufferMs: 0 });
    // What a throttled stream does: `throttle` throws ServiceUnavailableException (after the SDK's
    // retries), `reject` fails every other entry of each call, `outage` refuses the connection.
    const state: { fault: 'none' | 'throttle' | 'reject' | 'outage' } = { fault: 'none' };
    const client = {
      async putRecordBatch(input: PutRecordBatchCommandInput) {
        if (state.fault === 'throttle')
          throw Object.assign(new Error('Slow down.'), {
            name: 'ServiceUnavailableException',
            $fault: 'server',
            $metadata: { httpStatusCode: 503 },
          });
        if (state.fault === 'outage')
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
        const recs = input.Records ?? [];
        const rejected = (i: number) => state.fault === 'reject' && i % 2 === 1;
        await stream.putRecordBatch({ ...input, Records: recs.filter((_, i) => !rejected(i)) });
        return {
          FailedPutCount: recs.filter((_, i) => rejected(i)).length,
          RequestResponses: recs.map((_, i) =>
            rejected(i)
              ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
              : { RecordId: `r${i}` },
          ),
        };
      },
    };
    const spool = new FileCaptureSpool(path.join(dir, 'firehose-spool.jsonl'));
    const sink = new FirehoseCaptureSink({
      client,
      streamName: 'captures',
      maxAttempts: 2,
      sleep: async () => {},
      // Small records so that a request spans several and `reject` really splits it.
      recordBytes: 600,
      park: (rows, reason) => spool.park(rows, reason),
    });
    const seeded = new Rng(29);
    const core = scoreHttp(
      scoreRows({
        models: singlePackageCache(pkg),
        captures: sink,
        captureSampleRate: 0.5,
        maxRows: 1000,
        metrics: new PowertoolsMetricsSink(
          new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' }),
        ),
        logger,
        random: () => seeded.next(),
        now: () => new Date('2026-01-05T10:20:00.000Z'),
      }),
      { alias: 'production' },
    );
    let scored = 0;
    const sums = await metricSums(async () => {
      for (const [i, fault] of (
        ['none', 'throttle', 'reject', 'outage', 'reject', 'none'] as const
      ).entries()) {
        state.fault = fault;
        const n = 30 + 11 * i;
        const rows = Array.from({ length: n }, (_, k) => ({
          cpu: k % 5 === 0 ? 1e16 : 10 + k,
          memory: 50 + (k % 7),
          network: k % 9 === 0 ? 9000 : 400 + k,
          disk_io: 90,
          latency: 20 + (k % 11),
        }));
        const res = await runOnBody(core, 'default', 'score', JSON.stringify({ rows }));
        expect(res.status).toBe(200);
        scored += n;
      }
    });
    await stream.close();
    const { written, parked, sampledOut, lost } = accounted(sums, scored);
    expect(parked).toBeGreaterThan(0);
    expect(sampledOut).toBeGreaterThan(0);
    expect(lost).toBe(0);
    // The buckets are true: the Parquet partitions hold `written`, the spool `parked`.
    const reader = new ParquetCaptureReader(new FsCaptureObjects(root));
    const window = ['2026-01-05T10:00:00Z', '2026-01-05T11:00:00Z'] as const;
    expect(await reader.readWindow('default', ...window)).toHaveLength(written);
    expect(await spool.pending()).toHaveLength(parked);
    // The drain (the parking queue consumer's use case) over the same stream.
    const drainDeps = {
      openSink: (park: (rows: readonly CapturedRow[], reason: string) => Promise<void>) =>
        new FirehoseCaptureSink({
          client,
          streamName: 'captures',
          maxAttempts: 2,
          sleep: async () => {},
          recordBytes: 600,
          park,
        }),
      repark: (rows: readonly CapturedRow[], reason: string) => spool.park(rows, reason),
      metrics: new PowertoolsMetricsSink(new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' })),
      logger,
    };
    const drain = (batches: Parameters<typeof drainParkedCaptures>[0]) =>
      drainParkedCaptures(batches, drainDeps);
    // While the stream still rejects every other record, a replay writes what it takes and parks
    // the rest again as a new batch: nothing written twice, nothing lost.
    state.fault = 'reject';
    const partial = await spool.replay(drain);
    expect(partial.read).toBe(parked);
    expect(partial.drained).toBeGreaterThan(0);
    expect(partial.reparked).toBeGreaterThan(0);
    expect(partial.drained + partial.reparked).toBe(parked);
    expect(await spool.pending()).toHaveLength(partial.reparked);
    // Once the stream is healthy, a replay lands every parked row in Parquet.
    state.fault = 'none';
    expect(await spool.replay(drain)).toMatchObject({
      read: partial.reparked,
      drained: partial.reparked,
      reparked: 0,
      kept: 0,
    });
    expect(await spool.pending()).toHaveLength(0);
    await stream.close();
    const all = await reader.readWindow('default', ...window);
    expect(all).toHaveLength(written + parked);
    // Every scored-and-sampled row is there exactly once.
    expect(new Set(all.map((r) => `${r.requestId}#${r.index}`)).size).toBe(written + parked);
  });
});
