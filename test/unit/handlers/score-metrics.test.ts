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

  it('captures the float32 values that were scored, so DynamoDB accepts every number', async () => {
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
    const res = await runOnBody(
      core,
      'default',
      'score',
      JSON.stringify({ rows: [{ ...row, cpu: 1e-140, memory: 55.1 }] }),
    );
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0].cpu).toBe(0);
    expect(seen[0].memory).toBe(Math.fround(55.1));
  });
});
