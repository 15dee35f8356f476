import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsCaptureObjects, ParquetCaptureReader } from '#adapters/parquet-captures-reader.ts';
import { ENV } from '#contracts';
import { startTwin, type Twin } from '../../local/twin.ts';

describe('the twin on the Firehose capture path', () => {
  let twin: Twin | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-twin-firehose-'));
    twin = await startTwin({
      port: 0,
      dataDir: dir,
      inMemory: true,
      driftEveryMs: 0,
      capturePath: 'firehose',
    });
  }, 60_000);
  afterAll(async () => {
    await twin?.close();
    // The twin exports its settings into process.env; later twins in this worker choose their own.
    delete process.env[ENV.CAPTURE_PATH];
    await rm(dir, { recursive: true, force: true });
  });

  it('writes scored rows as Parquet where S3 would have them, and a reader finds every one', async () => {
    const t = twin as Twin;
    const rows = Array.from({ length: 40 }, (_, i) => ({
      cpu: 30 + i,
      memory: 55,
      network: 420,
      disk_io: 95,
      latency: 28,
    }));
    const from = new Date(Date.now() - 1000);
    const res = await fetch(`${t.url}/v1/models/default/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': t.apiKey },
      body: JSON.stringify({ rows }),
    });
    expect(res.status).toBe(200);
    // Stopping the twin flushes the stand-in's buffer, as a stream's buffer interval would.
    await t.close();
    twin = undefined;
    const artifacts = path.join(dir, 'artifacts');
    const dates = await readdir(path.join(artifacts, 'captures/model=default'));
    expect(dates.every((d) => /^date=\d{4}-\d{2}-\d{2}$/.test(d))).toBe(true);
    const back = await new ParquetCaptureReader(new FsCaptureObjects(artifacts)).readWindow(
      'default',
      from,
      new Date(Date.now() + 1000),
    );
    expect(back.map((r) => r.features.cpu).sort((a, b) => a - b)).toEqual(rows.map((r) => r.cpu));
    expect(back.every((r) => r.sampleRate === 1 && r.model === 'default')).toBe(true);
  }, 60_000);
});
