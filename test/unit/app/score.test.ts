import path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PowertoolsMetricsSink } from '#adapters/observability.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { scoreRows } from '#app/score.ts';
import { ModelCache } from '#app/serve.ts';
import type { CapturedRow, CaptureSink, Logger, MetricsSink, ModelPackage } from '#core/ports.ts';

/** EMF lines written while `fn` runs (dev mode sends them through console.log). */
async function emfDuring(
  fn: (metrics: MetricsSink) => Promise<void>,
): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    await fn(new PowertoolsMetricsSink(new Metrics({ namespace: 'VigilTest', serviceName: 'vigil-score' })));
  } finally {
    spy.mockRestore();
  }
  return lines.filter((l) => l.startsWith('{"_aws"')).map((l) => JSON.parse(l));
}

/** A model cache serving one package as every model name. */
function cacheOf(pkg: ModelPackage): ModelCache {
  return new ModelCache({
    resolver: {
      async resolve(name) {
        return { name, version: 1, artifactUri: 'mem://pkg', sha256: pkg.manifest.sha256 };
      },
    },
    store: {
      async putPackage() {
        throw new Error('read-only');
      },
      async getPackage() {
        return pkg;
      },
    },
  });
}

const logged: Array<[string, Record<string, unknown> | undefined]> = [];
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message, attributes) => void logged.push([message, attributes]),
};

describe('score use case: metrics and captures', () => {
  const saved = { ...process.env };
  let pkg: ModelPackage;
  beforeEach(async () => {
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    logged.length = 0;
    pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../../models/default'));
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  const row = { cpu: 35, memory: 55, network: 420, disk_io: 95, latency: 28 };
  const input = (rows: unknown[], model = 'default', requestId = 'r1') => ({
    model,
    ref: { alias: 'production' },
    rows,
    requestId,
  });

  it('emits CaptureErrors with the service dimension only, the set its alarm watches', async () => {
    const failing: CaptureSink = { write: async (rows) => ({ written: 0, parked: 0, lost: rows.length }) };
    const emf = await emfDuring(async (metrics) => {
      const score = scoreRows({
        models: cacheOf(pkg),
        captures: failing,
        captureSampleRate: 1,
        maxRows: 10,
        metrics,
        logger,
      });
      const out = await score(input([row, row, row]));
      expect(out.results).toHaveLength(3);
    });
    const capture = emf.filter((m) => 'CaptureErrors' in m);
    expect(capture).toHaveLength(1);
    expect(capture[0].CaptureErrors).toBe(3);
    const aws = capture[0]._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> };
    expect(aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(logged.map(([m]) => m)).toEqual(['CAPTURE ROWS LOST']);
  });

  it('emits nothing about captures when they succeed', async () => {
    const ok: CaptureSink = { write: async (rows) => ({ written: rows.length, parked: 0, lost: 0 }) };
    const emf = await emfDuring(async (metrics) => {
      const score = scoreRows({
        models: cacheOf(pkg),
        captures: ok,
        captureSampleRate: 1,
        maxRows: 10,
        metrics,
        logger,
      });
      await score(input([row]));
    });
    expect(emf.filter((m) => 'CaptureErrors' in m)).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('keeps each request its own record when requests interleave (one process, many requests)', async () => {
    // A slow capture sink keeps request A suspended while B scores, as in `vigil serve --aws`.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: CaptureSink = {
      write: async (rows) => {
        if (rows[0].requestId === 'a') await gate;
        return { written: rows.length, parked: 0, lost: 0 };
      },
    };
    const emf = await emfDuring(async (metrics) => {
      const score = scoreRows({
        models: cacheOf(pkg),
        captures: slow,
        captureSampleRate: 1,
        maxRows: 10,
        metrics,
        logger,
      });
      const a = score(input([row, row, row], 'model-a', 'a'));
      await new Promise((r) => setTimeout(r, 20));
      const b = score(input([row], 'model-b', 'b'));
      await b;
      release();
      await a;
    });
    const scored = emf.filter((m) => 'RowsScored' in m);
    expect(scored.map((m) => [m.model, m.RowsScored])).toEqual([
      ['model-a', 3],
      ['model-b', 1],
    ]);
    for (const m of scored) {
      const aws = m._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> };
      expect([...aws.CloudWatchMetrics[0].Dimensions[0]].sort()).toEqual(['model', 'service']);
    }
  });

  it('captures the values the caller sent, exactly (not their float32 rounding)', async () => {
    const seen: Array<Record<string, number>> = [];
    const recording: CaptureSink = {
      write: async (rows) => {
        for (const r of rows) seen.push(r.features);
        return { written: rows.length, parked: 0, lost: 0 };
      },
    };
    const score = scoreRows({
      models: cacheOf(pkg),
      captures: recording,
      captureSampleRate: 1,
      maxRows: 10,
      metrics: { emit: () => undefined },
      logger,
    });
    const sent = { ...row, cpu: 1e16, memory: 55.1, network: 3e38 };
    await score(input([sent]));
    expect(seen).toEqual([sent]);
    expect(seen[0].memory).not.toBe(Math.fround(55.1));
  });

  it('accounts for every row: written + parked + sampledOut + lost = RowsScored, per model', async () => {
    let call = 0;
    const halfParked: CaptureSink = {
      write: async (rows) => {
        call++;
        return { written: rows.length - 1, parked: 1, lost: 0, reason: 'throttled' };
      },
    };
    const draws = [0.1, 0.9, 0.2, 0.8];
    let k = 0;
    const emf = await emfDuring(async (metrics) => {
      const score = scoreRows({
        models: cacheOf(pkg),
        captures: halfParked,
        captureSampleRate: 0.5,
        maxRows: 10,
        metrics,
        logger,
        random: () => draws[k++ % draws.length] as number,
      });
      await score(input([row, row, row, row]));
    });
    expect(call).toBe(1);
    const counts = emf.find((m) => 'CapturesWritten' in m) as Record<string, unknown>;
    expect(counts).toMatchObject({
      model: 'default',
      CapturesWritten: 1,
      CapturesParked: 1,
      CapturesSampledOut: 2,
      CapturesLost: 0,
    });
    const errors = emf.filter((m) => 'CaptureErrors' in m);
    expect(errors.map((m) => m.CaptureErrors)).toEqual([1]);
  });

  describe('sampling', () => {
    // Far outside the default model's training ranges: scored anomalous (checked below, not assumed).
    const odd = { cpu: 99, memory: 99, network: 9000, disk_io: 2000, latency: 900 };
    const recording = () => {
      const seen: CapturedRow[] = [];
      const sink: CaptureSink = {
        write: async (rows) => {
          seen.push(...rows);
          return { written: rows.length, parked: 0, lost: 0 };
        },
      };
      return { seen, sink };
    };

    it('samples each model at its own rate and records that rate on every capture', async () => {
      const { seen, sink } = recording();
      const score = scoreRows({
        models: cacheOf(pkg),
        captures: sink,
        captureSampleRate: 1,
        captureModelRates: { busy: 0.25 },
        captureAnomalies: false,
        maxRows: 10,
        metrics: { emit: () => undefined },
        logger,
        // Draws 0.1, 0.3, 0.5, 0.7: only the first falls under 0.25.
        random: (() => {
          let k = 0;
          return () => 0.1 + 0.2 * (k++ % 4);
        })(),
      });
      await score(input([row, row, row, row], 'busy'));
      await score(input([row, row], 'quiet'));
      expect(seen.filter((r) => r.model === 'busy').map((r) => [r.index, r.sampleRate])).toEqual([[0, 0.25]]);
      expect(seen.filter((r) => r.model === 'quiet').map((r) => r.sampleRate)).toEqual([1, 1]);
    });

    it('keeps every anomalous row whatever the rate, with sampleRate 1, and samples the rest', async () => {
      const { seen, sink } = recording();
      const score = scoreRows({
        models: cacheOf(pkg),
        captures: sink,
        captureSampleRate: 0.01,
        maxRows: 10,
        metrics: { emit: () => undefined },
        logger,
        random: () => 0.5,
      });
      const out = await score(input([row, odd, row, odd]));
      expect(out.results.map((r) => r.anomaly)).toEqual([false, true, false, true]);
      expect(seen.map((r) => [r.index, r.anomaly, r.sampleRate])).toEqual([
        [1, true, 1],
        [3, true, 1],
      ]);
    });

    it('samples anomalous rows like the rest when always-capture is off', async () => {
      const { seen, sink } = recording();
      const score = scoreRows({
        models: cacheOf(pkg),
        captures: sink,
        captureSampleRate: 0,
        captureAnomalies: false,
        maxRows: 10,
        metrics: { emit: () => undefined },
        logger,
      });
      await score(input([row, odd]));
      expect(seen).toEqual([]);
    });
  });

  it("refuses a value the model's float32 input cannot represent, naming the row and field", async () => {
    const score = scoreRows({
      models: cacheOf(pkg),
      captureSampleRate: 0,
      maxRows: 10,
      metrics: { emit: () => undefined },
      logger,
    });
    for (const [value, why] of [
      [3.5e38, /too large/],
      [-1e39, /too large/],
      [1e-46, /too small/],
      [1e-140, /too small/],
    ] as const) {
      await expect(score(input([row, { ...row, latency: value }]))).rejects.toMatchObject({
        code: 'InvalidFeature',
        details: { row: 1, field: 'latency' },
        message: expect.stringMatching(why),
      });
    }
    // The edges that float32 does hold are accepted.
    for (const value of [3.4028234663852886e38, 1.401298464324817e-45, 0]) {
      const out = await score(input([{ ...row, latency: value }]));
      expect(out.results).toHaveLength(1);
    }
  });
});
