import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/twin.ts';

/**
 * The local DynamoDB goes away under a running twin, as a shared table's outage would: reads
 * of the registry are a 503 with Retry-After (never a 500: that is the metric that rolls
 * releases back), and scoring from a warm model keeps answering while its captures are parked
 * in the spool instead of being dropped.
 */
describe('a dependency outage on the twin', () => {
  let twin: Twin;
  let dir: string;
  const row = { cpu: 35, memory: 55, network: 420, disk_io: 95, latency: 28 };
  const score = () =>
    fetch(`${twin.url}/v1/models/default/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.apiKey },
      body: JSON.stringify({ rows: [row, row, row] }),
    });
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-outage-'));
    // No replay during the test (the replay itself is covered in captures-invariant.test.ts).
    twin = await startTwin({
      port: 0,
      dataDir: dir,
      inMemory: true,
      driftEveryMs: 0,
      spoolReplayEveryMs: 3_600_000,
    });
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 ServiceUnavailable with Retry-After, and parks captures instead of losing them', async () => {
    expect((await score()).status).toBe(200); // warms the model and alias caches
    await twin.dynamo.close();

    const models = await fetch(`${twin.url}/v1/models`, { headers: { 'x-api-key': twin.apiKey } });
    expect(models.status).toBe(503);
    expect(models.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await models.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ServiceUnavailable');
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);

    const scored = await score();
    expect(scored.status).toBe(200);
    const spool = (await readFile(path.join(dir, 'captures-spool.jsonl'), 'utf8')).trim().split('\n');
    expect(spool).toHaveLength(3);

    const metrics = await readFile(path.join(dir, 'metrics.log'), 'utf8');
    expect(metrics).toMatch(/"DependencyErrors":1/);
    expect(metrics).not.toMatch(/"ServerErrors"/);
    expect(metrics).toMatch(/"CapturesParked":3/);
  });
});
