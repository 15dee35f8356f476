import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { FsBlobStore } from '#adapters/blob-store-fs.ts';
import { FsCaptureObjects } from '#adapters/capture-objects.ts';
import { DynamoCapturePartitions } from '#adapters/dynamodb-capture-partitions.ts';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { MemoryEventPublisher } from '#adapters/events.ts';
import { logger } from '#adapters/observability.ts';
import { ParquetCapturePartitions } from '#adapters/parquet-capture-partitions.ts';
import { bootstrapDefaultModel } from '#app/bootstrap.ts';
import { createDriftEvaluator } from '#app/drift.ts';
import { createDistributedDrift } from '#app/drift-distributed.ts';
import { CAPTURE_LAYOUT } from '#contracts';
import type { CapturedRow } from '#core/ports.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { DEFAULT_MODEL_DIR, defaultManifest, referenceRows } from '../drift-handlers/helpers.ts';

const TABLES = { registry: 'reg', captures: 'cap', drift: 'drift' };
const SHARDS = 4;

/** Rows captured over the 90 minutes before `now`, spread over two hours and (by request id) all shards. */
function captured(now: Date, rows: Record<string, number>[], sampleRate = 1): CapturedRow[] {
  return rows.map((features, i) => ({
    model: 'default',
    version: 1,
    at: new Date(now.getTime() - 90 * 60_000 + Math.floor((i * 89 * 60_000) / rows.length)).toISOString(),
    requestId: `req-${i}`,
    index: 0,
    features,
    score: 0.4,
    anomaly: false,
    sampleRate,
  }));
}

describe('distributed drift (plan → summarize per partition → reduce) on dynalite', () => {
  let dynamo: LocalDynamo;
  let dir: string;
  let registry: DynamoRegistry;
  let store: FsArtifactStore;
  let sink: DynamoCaptureSink;
  let partitions: DynamoCapturePartitions;
  let reports: DynamoDriftReportStore;
  let hour = Date.parse('2025-07-01T00:30:00.000Z');
  const nextNow = () => {
    hour += 6 * 3_600_000;
    return new Date(hour);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-drift-dist-'));
    dynamo = await startDynalite();
    await ensureTables(dynamo.endpoint, Object.values(TABLES));
    const client = documentClient(dynamo.endpoint);
    registry = new DynamoRegistry({ client, tableName: TABLES.registry });
    store = new FsArtifactStore({ root: path.join(dir, 'artifacts') });
    await bootstrapDefaultModel({ registry, store }, DEFAULT_MODEL_DIR);
    sink = new DynamoCaptureSink({ client, tableName: TABLES.captures, shards: SHARDS });
    partitions = new DynamoCapturePartitions({
      client,
      tableName: TABLES.captures,
      shards: SHARDS,
      pageSize: 50,
    });
    reports = new DynamoDriftReportStore({ client, tableName: TABLES.drift });
  });
  afterAll(async () => {
    await dynamo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (now: Date) => {
    const events = new MemoryEventPublisher();
    const steps = createDistributedDrift({
      registry,
      store,
      partitions,
      summaries: new FsBlobStore({ root: path.join(dir, 'blobs') }),
      reports,
      events,
      metrics: { emit: () => undefined },
      logger,
      now: () => now,
      windowMinutes: 120,
    });
    const plan = await steps.plan({ model: 'default', runId: `run-${now.getTime()}` });
    const refs = [];
    for (const partition of plan.partitions) refs.push(await steps.summarize({ plan, partition }));
    const summary = await steps.reduce({ plan, summaries: refs });
    const [stored] = await reports.list('default', { limit: 1 });
    return { plan, refs, summary, stored, events };
  };

  const inMemory = async (now: Date) => {
    const events = new MemoryEventPublisher();
    const evaluate = createDriftEvaluator({
      registry,
      store,
      captures: sink,
      reports,
      events,
      metrics: { emit: () => undefined },
      logger,
      now: () => now,
      windowMinutes: 120,
    });
    await evaluate({ model: 'default' });
    const [stored] = await reports.list('default', { limit: 1 });
    return stored;
  };

  it('lists every model-hour-shard of the window and reproduces the in-memory report (unshifted)', async () => {
    const now = nextNow();
    const rows = referenceRows(400, 3);
    await sink.write(captured(now, rows));
    const { plan, refs, summary, stored } = await run(now);
    // A 120-minute window ending at :30 touches three hours, each with every shard.
    expect(plan.partitions).toHaveLength(3 * SHARDS);
    expect(plan.partitions[0]).toBe(
      CAPTURE_LAYOUT.dynamoPartition('default', plan.from.slice(0, 13), 0, SHARDS),
    );
    expect(refs.reduce((a, r) => a + r.rows, 0)).toBe(400);
    expect(summary).toMatchObject({ status: 'ok', drift: false, published: false });
    const exact = await inMemory(now);
    expect(stored.n).toBe(400);
    expect(exact.n).toBe(400);
    // The reservoir holds every row of one rate: the statistics are the exact ones.
    for (const f of defaultManifest.features) {
      const a = stored.features[f].tests?.ks as { statistic: number } | undefined;
      const b = exact.features[f].tests?.ks as { statistic: number } | undefined;
      expect(a?.statistic).toBe(b?.statistic);
      expect(stored.features[f].drifted).toBe(exact.features[f].drifted);
      // The reduce step keeps the window's distribution too: here, the rows' own quantiles.
      const sorted = rows.map((r) => r[f] as number).sort((a, b) => a - b);
      const q = (p: number) => {
        const h = (sorted.length - 1) * p;
        const lo = Math.floor(h);
        return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] as number) - sorted[lo]);
      };
      const d = stored.features[f].distribution;
      expect(d?.current).toHaveLength(21);
      d?.probabilities.forEach((p, i) => {
        expect(d.current[i]).toBeCloseTo(q(p), 9);
      });
      expect(d).toEqual(exact.features[f].distribution);
    }
    const approx = (stored as unknown as { approximation: { ksErrorBound: number; rows: number } })
      .approximation;
    expect(approx).toMatchObject({ ksErrorBound: 0, rows: 400 });
  });

  it('flags a shifted window and publishes vigil.drift.detected, as the evaluator does', async () => {
    const now = nextNow();
    await sink.write(captured(now, referenceRows(400, 4, 1)));
    const { summary, events } = await run(now);
    expect(summary).toMatchObject({ status: 'ok', drift: true, published: true });
    expect(events.events).toHaveLength(1);
    expect(events.events[0]).toMatchObject({
      source: 'vigil.drift',
      detail: { model: 'default', n: 400 },
    });
  });

  it('stores an insufficient-data report for an idle window', async () => {
    const { summary, refs } = await run(nextNow());
    expect(refs.every((r) => r.rows === 0)).toBe(true);
    expect(summary).toMatchObject({ status: 'insufficient_data', drift: null, published: false });
  });

  it("refuses to read another model's partition", async () => {
    const now = nextNow();
    const steps = createDistributedDrift({
      registry,
      store,
      partitions,
      summaries: new FsBlobStore({ root: path.join(dir, 'blobs') }),
      reports,
      events: new MemoryEventPublisher(),
      metrics: { emit: () => undefined },
      logger,
      now: () => now,
    });
    const plan = await steps.plan({ model: 'default', runId: 'forged' });
    await expect(steps.summarize({ plan, partition: 'CAP#other#2025-07-01T00#0' })).rejects.toThrow(
      /does not belong/,
    );
  });
});

/** A capture Parquet file in the CAPTURE_COLUMNS layout (minus `shadow`, which is nullable). */
function captureParquet(rows: CapturedRow[]): ArrayBuffer {
  const schema = [
    { name: 'root', num_children: 8 },
    { name: 'version', type: 'INT32', repetition_type: 'OPTIONAL' },
    { name: 'at', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'request_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'row_index', type: 'INT32', repetition_type: 'OPTIONAL' },
    { name: 'features', repetition_type: 'OPTIONAL', converted_type: 'MAP', num_children: 1 },
    { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
    { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'value', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'score', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'anomaly', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
    { name: 'sample_rate', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  ] as const;
  return parquetWriteBuffer({
    schema: schema as never,
    columnData: [
      { name: 'version', data: rows.map((r) => r.version) },
      { name: 'at', data: rows.map((r) => r.at) },
      { name: 'request_id', data: rows.map((r) => r.requestId) },
      { name: 'row_index', data: rows.map((r) => r.index) },
      { name: 'features', data: rows.map((r) => r.features) },
      { name: 'score', data: rows.map((r) => r.score) },
      { name: 'anomaly', data: rows.map((r) => r.anomaly) },
      { name: 'sample_rate', data: rows.map((r) => r.sampleRate ?? 1) },
    ],
  });
}

describe('Parquet capture partitions (the S3 path) on the filesystem stand-in', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-drift-parquet-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the objects of the window’s hours and reads their rows, in pages, within the window', async () => {
    const now = new Date('2025-08-01T02:30:00.000Z');
    const rows = captured(now, referenceRows(300, 5), 0.5);
    const byHour = new Map<string, CapturedRow[]>();
    for (const r of rows) {
      const h = CAPTURE_LAYOUT.hour(r.at);
      byHour.set(h, [...(byHour.get(h) ?? []), r]);
    }
    for (const [h, rs] of byHour) {
      const key = `${CAPTURE_LAYOUT.s3Partition('default', h)}part-0.parquet`;
      await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
      await writeFile(path.join(dir, key), new Uint8Array(captureParquet(rs)));
    }
    // Another model's object under the same dates is never listed.
    const other = `${CAPTURE_LAYOUT.s3Partition('other', '2025-08-01T01')}part-0.parquet`;
    await mkdir(path.dirname(path.join(dir, other)), { recursive: true });
    await writeFile(path.join(dir, other), new Uint8Array(captureParquet(rows.slice(0, 3))));

    const reader = new ParquetCapturePartitions({
      objects: new FsCaptureObjects({ root: dir }),
      pageRows: 64,
    });
    const from = new Date(now.getTime() - 60 * 60_000);
    const keys = await reader.listPartitions('default', from, now);
    expect(keys).toEqual([
      'captures/model=default/date=2025-08-01/hour=01/part-0.parquet',
      'captures/model=default/date=2025-08-01/hour=02/part-0.parquet',
    ]);
    const read: CapturedRow[] = [];
    let pages = 0;
    for (const key of keys) {
      for await (const page of reader.readPartition('default', key, from, now)) {
        pages++;
        read.push(...page);
      }
    }
    const expected = rows.filter((r) => r.at >= from.toISOString() && r.at < now.toISOString());
    expect(read).toHaveLength(expected.length);
    expect(pages).toBeGreaterThan(2);
    expect(read[0]).toEqual({ ...expected[0], model: 'default' });
    expect(read.every((r) => r.sampleRate === 0.5)).toBe(true);
    await expect(async () => {
      for await (const _ of reader.readPartition('default', other, from, now)) break;
    }).rejects.toThrow(/not under model/);
  });
});
