import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsCaptureObjects, ParquetCaptureReader } from '#adapters/parquet-captures-reader.ts';
import { SqsCaptureParking } from '#adapters/sqs-capture-parking.ts';
import { ENV } from '#contracts';
import type { CapturedRow } from '#core/ports.ts';
import { handler } from '#handlers/capture-drain.ts';
import { localCaptureStream, resetRoot } from '#runtime/root.ts';

const context = { awsRequestId: 'req-drain' } as Context;

const rows = (n: number, requestId: string): CapturedRow[] =>
  Array.from({ length: n }, (_, index) => ({
    model: 'default',
    version: 1,
    at: '2026-01-05T10:20:00.000Z',
    requestId,
    index,
    features: { cpu: 10 + index, memory: 1e16 },
    score: 0.4,
    anomaly: index === 0,
    sampleRate: index === 0 ? 1 : 0.1,
  }));

/** The message bodies the score path's parking really produces (its SendMessageBatch captured). */
async function parkedMessages(batches: CapturedRow[][]): Promise<SQSRecord[]> {
  const bodies: string[] = [];
  const parking = new SqsCaptureParking(
    {
      async sendMessageBatch(input) {
        for (const e of input.Entries ?? []) bodies.push(e.MessageBody ?? '');
        return { Failed: [] };
      },
    },
    'https://sqs.example/parking',
  );
  for (const b of batches) await parking.park(b, 'ServiceUnavailableException: Slow down.');
  return bodies.map((body, i) => ({ messageId: `m${i}`, body }) as SQSRecord);
}

describe('capture-drain handler (SQS event source of the parking queue)', () => {
  let dir: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-drain-'));
    // The twin's Firehose stand-in as the stream; a parking place is required for partly written batches.
    process.env[ENV.CAPTURE_PATH] = 'firehose';
    process.env[ENV.ARTIFACT_DIR] = dir;
    process.env[ENV.CAPTURE_SPOOL_FILE] = path.join(dir, 'spool.jsonl');
    delete process.env[ENV.CAPTURE_STREAM];
    delete process.env[ENV.CAPTURE_PARKING_QUEUE];
    resetRoot();
  });
  afterAll(async () => {
    process.env = saved;
    resetRoot();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes parked rows into the stream and reports only the unreadable message as a failure', async () => {
    const records = await parkedMessages([rows(40, 'r1'), rows(25, 'r2')]);
    expect(records).toHaveLength(2);
    records.push({ messageId: 'garbage', body: 'not a parked message' } as SQSRecord);
    const out = await handler({ Records: records } as SQSEvent, context);
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: 'garbage' }] });
    await localCaptureStream()?.close();
    const reader = new ParquetCaptureReader(new FsCaptureObjects(dir));
    const stored = await reader.readWindow('default', '2026-01-05T10:00:00Z', '2026-01-05T11:00:00Z');
    expect(stored).toHaveLength(65);
    // Values and the sample rates the reweighting needs come back exact.
    expect(stored.every((r) => r.features.memory === 1e16)).toBe(true);
    expect(stored.filter((r) => r.sampleRate === 1)).toHaveLength(2);
  });
});
