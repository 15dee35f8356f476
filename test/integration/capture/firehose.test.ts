import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PutRecordBatchCommandInput } from '@aws-sdk/client-firehose';
import type { SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirehoseCaptureSink } from '#adapters/firehose-captures.ts';
import { LocalFirehose } from '#adapters/firehose-local.ts';
import { FsCaptureObjects, ParquetCaptureReader } from '#adapters/parquet-captures-reader.ts';
import { type ParkedCaptures, SqsCaptureParking } from '#adapters/sqs-capture-parking.ts';
import { CAPTURE_COLUMNS } from '#contracts';
import type { CapturedRow } from '#core/ports.ts';

function rows(n: number, startIso: string, stepMs: number, model = 'cpu-model'): CapturedRow[] {
  const t0 = Date.parse(startIso);
  return Array.from({ length: n }, (_, i) => ({
    model,
    version: 2,
    at: new Date(t0 + i * stepMs).toISOString(),
    requestId: `req-${Math.floor(i / 10)}`,
    index: i % 10,
    features: { cpu: i + 0.1, mem: i % 4 === 0 ? 3e38 : 1 / 3, 'disk io': -(i + 0.5) },
    score: 0.4 + i / 1e4,
    anomaly: i % 7 === 0,
    sampleRate: i % 7 === 0 ? 1 : 0.25,
    ...(i % 3 === 0 ? { shadow: { version: 3, score: 0.7, anomaly: true } } : {}),
  }));
}

/** An SQS stand-in keeping the bodies it accepted; `refuse` makes it report every entry failed. */
function memoryQueue() {
  const bodies: string[] = [];
  const state = { refuse: false };
  const client = {
    async sendMessageBatch(input: SendMessageBatchCommandInput) {
      const entries = input.Entries ?? [];
      if (state.refuse)
        return {
          Failed: entries.map((e) => ({ Id: e.Id, Code: 'KMS.ThrottlingException', SenderFault: false })),
        };
      for (const e of entries) bodies.push(String(e.MessageBody));
      return { Failed: [] };
    },
  };
  const parkedRows = () => bodies.flatMap((b) => (JSON.parse(b) as ParkedCaptures).rows);
  return { client, bodies, state, parkedRows };
}

describe('Firehose capture path (the twin stand-in writes real Parquet)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-firehose-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes Hive partitions by model/date/hour that a reader finds, every value exact', async () => {
    const root = path.join(dir, 'roundtrip');
    const stream = new LocalFirehose({ root, bufferMs: 0 });
    const sink = new FirehoseCaptureSink({ client: stream, streamName: 'captures' });
    const data = rows(130, '2025-03-01T09:50:00.000Z', 10_000); // two hours
    expect(await sink.write(data)).toEqual({ written: 130, parked: 0, lost: 0 });
    await stream.close();
    expect((await readdir(path.join(root, 'captures/model=cpu-model/date=2025-03-01'))).sort()).toEqual([
      'hour=09',
      'hour=10',
    ]);
    const reader = new ParquetCaptureReader(new FsCaptureObjects(root));
    const back = await reader.readWindow('cpu-model', '2025-03-01T09:00:00Z', '2025-03-01T11:00:00Z');
    expect(back).toEqual(data);
    const part = await reader.readWindow('cpu-model', data[10].at, data[70].at);
    expect(part.map((r) => r.at)).toEqual(data.slice(10, 70).map((r) => r.at));
    expect(await reader.readWindow('other', '2025-03-01T09:00:00Z', '2025-03-01T11:00:00Z')).toEqual([]);
  });

  it('lays the file out as the Glue table says: CAPTURE_COLUMNS in order, features a map<string,double>', async () => {
    const root = path.join(dir, 'schema');
    const stream = new LocalFirehose({ root, bufferMs: 0 });
    await new FirehoseCaptureSink({ client: stream, streamName: 'captures' }).write(
      rows(3, '2025-03-01T09:50:00.000Z', 1),
    );
    await stream.close();
    const [file] = stream.files;
    expect(file).toMatch(/^captures\/model=cpu-model\/date=2025-03-01\/hour=09\/.+\.parquet$/);
    // Read with hyparquet directly, not through the project's decoder.
    const bytes = await readFile(path.join(root, file as string));
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const meta = parquetMetadata(buf);
    const top = parquetSchema(meta).children.map((c) => c.element.name);
    expect(top).toEqual(CAPTURE_COLUMNS.map((c) => c.name));
    const features = parquetSchema(meta).children.find((c) => c.element.name === 'features');
    expect(features?.element.converted_type).toBe('MAP');
    expect(features?.children[0]?.children.map((c) => [c.element.name, c.element.type])).toEqual([
      ['key', 'BYTE_ARRAY'],
      ['value', 'DOUBLE'],
    ]);
    expect(meta.row_groups[0]?.columns[0]?.meta_data?.codec).toBe('SNAPPY');
    const [first] = (await parquetReadObjects({ file: buf })) as Record<string, unknown>[];
    expect(first).toMatchObject({ request_id: 'req-0', row_index: 0, sample_rate: 1, anomaly: true });
    expect(first?.features).toEqual({ cpu: 0.1, mem: 3e38, 'disk io': -0.5 });
  });

  it('packs rows into records under 5 KB (Firehose bills per 5 KB record), each row in exactly one', () => {
    const sink = new FirehoseCaptureSink({
      client: { putRecordBatch: async () => ({ FailedPutCount: 0, RequestResponses: [] }) },
      streamName: 's',
    });
    const data = rows(100, '2025-03-01T09:50:00.000Z', 1);
    const packed = sink.pack(data);
    expect(packed.length).toBeGreaterThan(1);
    expect(packed.length).toBeLessThan(data.length / 5);
    for (const p of packed) expect(p.data.byteLength).toBeLessThanOrEqual(4900);
    const lines = packed.flatMap((p) => new TextDecoder().decode(p.data).trim().split('\n'));
    expect(lines).toHaveLength(100);
    expect(lines.map((l) => JSON.parse(l).row_index)).toEqual(data.map((r) => r.index));
  });

  it('retries the entries PutRecordBatch rejects, then parks what it still rejects in SQS', async () => {
    const root = path.join(dir, 'rejects');
    const stream = new LocalFirehose({ root, bufferMs: 0 });
    let calls = 0;
    // Rejects every other entry on the first two calls, then everything.
    const flaky = {
      async putRecordBatch(input: PutRecordBatchCommandInput) {
        calls++;
        const recs = input.Records ?? [];
        const reject = (i: number) => calls > 2 || i % 2 === 1;
        const accepted = recs.filter((_, i) => !reject(i));
        if (accepted.length) await stream.putRecordBatch({ ...input, Records: accepted });
        return {
          FailedPutCount: recs.length - accepted.length,
          RequestResponses: recs.map((_, i) =>
            reject(i)
              ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
              : { RecordId: `id-${i}` },
          ),
        };
      },
    };
    const queue = memoryQueue();
    const parking = new SqsCaptureParking(queue.client, 'https://sqs.local/parking');
    const sink = new FirehoseCaptureSink({
      client: flaky,
      streamName: 'captures',
      maxAttempts: 3,
      sleep: async () => {},
      park: (r, why) => parking.park(r, why),
    });
    const data = rows(200, '2025-03-01T09:00:00.000Z', 1000);
    const r = await sink.write(data);
    expect(calls).toBe(3);
    expect(r.written + r.parked).toBe(200);
    expect(r.parked).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.reason).toMatch(/ServiceUnavailableException/);
    await stream.close();
    const stored = await new ParquetCaptureReader(new FsCaptureObjects(root)).readWindow(
      'cpu-model',
      '2025-03-01T09:00:00Z',
      '2025-03-01T10:00:00Z',
    );
    expect(stored).toHaveLength(r.written);
    const parked = queue.parkedRows();
    expect(parked).toHaveLength(r.parked);
    // Stored and parked together are the rows, each once.
    const key = (x: CapturedRow) => `${x.requestId}#${x.index}`;
    expect([...stored, ...parked].map(key).sort()).toEqual(data.map(key).sort());
  });

  it('parks at once on a thrown retryable error, and loses (counted) on a refusal or when SQS refuses too', async () => {
    const throwing = (e: Error) => ({
      putRecordBatch: async () => {
        throw e;
      },
    });
    const throttled = Object.assign(new Error('Slow down.'), {
      name: 'ServiceUnavailableException',
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
    });
    const denied = Object.assign(new Error('not authorized to perform: firehose:PutRecordBatch'), {
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const queue = memoryQueue();
    const parking = new SqsCaptureParking(queue.client, 'https://sqs.local/parking');
    const park = (r: readonly CapturedRow[], why: string) => parking.park(r, why);
    const data = rows(30, '2025-03-01T09:00:00.000Z', 1);
    const opts = { streamName: 'captures', sleep: async () => {}, park };
    expect(await new FirehoseCaptureSink({ ...opts, client: throwing(throttled) }).write(data)).toMatchObject(
      {
        written: 0,
        parked: 30,
        lost: 0,
      },
    );
    expect(queue.parkedRows()).toHaveLength(30);
    const refused = await new FirehoseCaptureSink({ ...opts, client: throwing(denied) }).write(data);
    expect(refused).toMatchObject({ written: 0, parked: 0, lost: 30 });
    expect(refused.reason).toMatch(/AccessDenied/);
    queue.state.refuse = true;
    const nowhere = await new FirehoseCaptureSink({ ...opts, client: throwing(throttled) }).write(data);
    expect(nowhere).toMatchObject({ written: 0, parked: 0, lost: 30 });
    expect(nowhere.reason).toMatch(/parking failed: .*SQS refused/);
  });

  it('sends parked rows in SQS messages under 256 KiB, ten at most per batch', async () => {
    const sent: number[][] = [];
    const client = {
      async sendMessageBatch(input: SendMessageBatchCommandInput) {
        sent.push((input.Entries ?? []).map((e) => Buffer.byteLength(String(e.MessageBody))));
        return { Failed: [] };
      },
    };
    await new SqsCaptureParking(client, 'q').park(rows(5000, '2025-03-01T09:00:00.000Z', 1), 'throttled');
    expect(sent.flat().length).toBeGreaterThan(1);
    for (const batch of sent) {
      expect(batch.length).toBeLessThanOrEqual(10);
      expect(batch.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(256 * 1024);
      for (const b of batch) expect(b).toBeLessThanOrEqual(256 * 1024);
    }
  });

  it('sends what it cannot partition under the error prefix instead of dropping it', async () => {
    const root = path.join(dir, 'errors');
    const stream = new LocalFirehose({ root, bufferMs: 0 });
    const enc = new TextEncoder();
    await stream.putRecordBatch({
      DeliveryStreamName: 's',
      Records: [{ Data: enc.encode('{"model":"m"}\nnot json\n') }],
    });
    await stream.close();
    expect(stream.files).toHaveLength(1);
    expect(stream.files[0]).toMatch(/^captures-errors\/processing-failed\//);
    expect(await readFile(path.join(root, stream.files[0] as string), 'utf8')).toBe(
      '{"model":"m"}\nnot json\n',
    );
  });
});
