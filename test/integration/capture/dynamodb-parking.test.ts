import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#contracts';
import type { CapturedRow } from '#core/ports.ts';
import { captures, resetRoot } from '#runtime/root.ts';

const row: CapturedRow = {
  model: 'default',
  version: 3,
  at: '2026-01-05T10:20:00.000Z',
  requestId: 'req-park',
  index: 0,
  features: { cpu: 1e16, memory: 2 },
  score: 0.7,
  anomaly: true,
};

/**
 * The SQS JSON protocol as far as SendMessageBatch goes: records each request's target and
 * entries, answers every entry accepted with the MD5 of its body (which the SDK verifies).
 */
function fakeSqs(): { server: Server; calls: { target: string; queueUrl: string; bodies: string[] }[] } {
  const calls: { target: string; queueUrl: string; bodies: string[] }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const input = JSON.parse(raw) as { QueueUrl: string; Entries: { Id: string; MessageBody: string }[] };
      calls.push({
        target: String(req.headers['x-amz-target']),
        queueUrl: input.QueueUrl,
        bodies: input.Entries.map((e) => e.MessageBody),
      });
      res.setHeader('content-type', 'application/x-amz-json-1.0');
      res.end(
        JSON.stringify({
          Successful: input.Entries.map((e, i) => ({
            Id: e.Id,
            MessageId: `m${i}`,
            MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex'),
          })),
          Failed: [],
        }),
      );
    });
  });
  return { server, calls };
}

describe('DynamoDB capture path in AWS: the composition root parks in the SQS parking queue', () => {
  const saved = { ...process.env };
  const sqs = fakeSqs();
  let queueUrl = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => sqs.server.listen(0, '127.0.0.1', resolve));
    const { port } = sqs.server.address() as AddressInfo;
    for (const name of Object.values(ENV)) if (name.startsWith('VIGIL_')) delete process.env[name];
    process.env[ENV.CAPTURE_PATH] = 'dynamodb';
    process.env[ENV.CAPTURES_TABLE] = 'captures';
    // A table that refuses connections: a retryable outage the sink gives up on after its retries.
    process.env[ENV.DYNAMODB_ENDPOINT] = 'http://127.0.0.1:1';
    // The SDK sends to the queue URL's host: the fake's.
    queueUrl = `http://127.0.0.1:${port}/123456789012/parking`;
    process.env[ENV.CAPTURE_PARKING_QUEUE] = queueUrl;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    resetRoot();
  });
  afterAll(async () => {
    process.env = saved;
    resetRoot();
    await new Promise((resolve) => sqs.server.close(resolve));
  });

  it('sends the rows the table write gave up on to VIGIL_CAPTURE_PARKING_QUEUE and counts them parked, not lost', async () => {
    const sink = captures();
    if (!sink) throw new Error('no capture sink on the DynamoDB path');
    const r = await sink.write([row]);
    expect(r).toMatchObject({ written: 0, parked: 1, lost: 0 });
    expect(sqs.calls).toHaveLength(1);
    expect(sqs.calls[0]?.target).toBe('AmazonSQS.SendMessageBatch');
    expect(sqs.calls[0]?.queueUrl).toBe(queueUrl);
    const body = JSON.parse(sqs.calls[0]?.bodies[0] ?? '{}') as { rows: CapturedRow[]; reason: string };
    expect(body.rows).toEqual([row]);
    expect(body.reason).toMatch(/ECONNREFUSED/);
  }, 30_000);
});
