import path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { scoreRequest } from '#app/score.ts';
import type { CaptureSink } from '#core/ports.ts';
import { readPackageDir } from '../../../bin/commands/models.ts';
import { runOnBody, singlePackageCache } from '../../../bin/commands/package-runner.ts';

/** EMF lines written while `fn` runs (dev mode sends them through console.log). */
async function emfDuring(fn: (metrics: Metrics) => Promise<void>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    await fn(new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' }));
  } finally {
    spy.mockRestore();
  }
  return lines.filter((l) => l.startsWith('{"_aws"')).map((l) => JSON.parse(l));
}

describe('score metrics', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  const row = { cpu: 35, memory: 55, network: 420, disk_io: 95, latency: 28 };

  it('emits CaptureErrors with the service dimension only, the set its alarm watches', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
    const failing: CaptureSink = { write: async (rows) => ({ written: 0, parked: 0, lost: rows.length }) };
    const emf = await emfDuring(async (metrics) => {
      const core = scoreRequest({
        models: singlePackageCache(pkg),
        captures: failing,
        captureSampleRate: 1,
        maxRows: 10,
        alias: 'production',
        metrics,
      });
      const res = await runOnBody(core, 'default', 'score', JSON.stringify({ rows: [row, row, row] }));
      expect(res.status).toBe(200);
    });
    const capture = emf.filter((m) => 'CaptureErrors' in m);
    expect(capture).toHaveLength(1);
    expect(capture[0].CaptureErrors).toBe(3);
    const aws = capture[0]._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> };
    expect(aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
  });

  it('emits nothing about captures when they succeed', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
    const ok: CaptureSink = { write: async (rows) => ({ written: rows.length, parked: 0, lost: 0 }) };
    const emf = await emfDuring(async (metrics) => {
      const core = scoreRequest({
        models: singlePackageCache(pkg),
        captures: ok,
        captureSampleRate: 1,
        maxRows: 10,
        alias: 'production',
        metrics,
      });
      await runOnBody(core, 'default', 'score', JSON.stringify({ rows: [row] }));
    });
    expect(emf.filter((m) => 'CaptureErrors' in m)).toEqual([]);
  });

  it('captures the values the caller sent, exactly (not their float32 rounding)', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
    const seen: Array<Record<string, number>> = [];
    const recording: CaptureSink = {
      write: async (rows) => {
        for (const r of rows) seen.push(r.features);
        return { written: rows.length, parked: 0, lost: 0 };
      },
    };
    const core = scoreRequest({
      models: singlePackageCache(pkg),
      captures: recording,
      captureSampleRate: 1,
      maxRows: 10,
      alias: 'production',
    });
    const sent = { ...row, cpu: 1e16, memory: 55.1, network: 3e38 };
    const res = await runOnBody(core, 'default', 'score', JSON.stringify({ rows: [sent] }));
    expect(res.status).toBe(200);
    expect(seen).toEqual([sent]);
    expect(seen[0].memory).not.toBe(Math.fround(55.1));
  });

  it("refuses a value the model's float32 input cannot represent with a 400 naming the field", async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
    const core = scoreRequest({
      models: singlePackageCache(pkg),
      captureSampleRate: 0,
      maxRows: 10,
      alias: 'production',
    });
    for (const [value, why] of [
      [3.5e38, /too large/],
      [-1e39, /too large/],
      [1e-46, /too small/],
      [1e-140, /too small/],
    ] as const) {
      const res = await runOnBody(
        core,
        'default',
        'score',
        JSON.stringify({ rows: [row, { ...row, latency: value }] }),
      );
      expect(res.status).toBe(400);
      const body = JSON.parse(res.body);
      expect(body.error.code).toBe('InvalidFeature');
      expect(body.error.details).toEqual({ row: 1, field: 'latency' });
      expect(body.error.message).toMatch(why);
    }
    // The edges that float32 does hold are accepted.
    for (const value of [3.4028234663852886e38, 1.401298464324817e-45, 0]) {
      const res = await runOnBody(
        core,
        'default',
        'score',
        JSON.stringify({ rows: [{ ...row, latency: value }] }),
      );
      expect(res.status).toBe(200);
    }
  });
});
