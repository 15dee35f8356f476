import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { EventBridgePublisher, MemoryEventPublisher } from '#adapters/events.ts';
import { logger, PowertoolsMetricsSink } from '#adapters/observability.ts';
import { bootstrapDefaultModel } from '#app/bootstrap.ts';
import { createDriftEvaluator, DriftEvaluationError, type DriftEvaluatorDeps } from '#app/drift.ts';
import type { CapturedRow, EventPublisher } from '#core/ports.ts';
import { handler } from '#handlers/drift-evaluate.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { lambdaContext } from '../../../local/http-adapter.ts';
import { DEFAULT_MODEL_DIR, defaultManifest, referenceRows } from './helpers.ts';

const TABLES = { registry: 'reg', captures: 'cap', drift: 'drift' };
const FEATURES = defaultManifest.features;

describe('drift evaluator on dynalite with the real registry, artifact store and captures', () => {
  let dynamo: LocalDynamo;
  let dir: string;
  let base: Omit<DriftEvaluatorDeps, 'events'>;
  let captures: DynamoCaptureSink;
  let reports: DynamoDriftReportStore;
  // Each test gets its own hour, so windows never overlap.
  let hour = Date.parse('2025-06-01T00:00:00.000Z');
  const nextWindow = () => {
    hour += 3 * 3_600_000;
    return new Date(hour);
  };

  const capture = async (model: string, now: Date, rows: Record<string, number>[], sampleRate?: number) => {
    const at = new Date(now.getTime() - 10 * 60_000).toISOString();
    const captured: CapturedRow[] = rows.map((features, index) => ({
      model,
      version: 1,
      at,
      requestId: `req-${Math.floor(index / 500)}`,
      index: index % 500,
      features,
      score: 0.4,
      anomaly: false,
      ...(sampleRate !== undefined ? { sampleRate } : {}),
    }));
    expect(await captures.write(captured)).toEqual({ written: rows.length, parked: 0, lost: 0 });
  };

  const evaluator = (now: Date, extra: Partial<DriftEvaluatorDeps> = {}) => {
    const events = new MemoryEventPublisher();
    const evaluate = createDriftEvaluator({ ...base, events, now: () => now, ...extra });
    return { evaluate, events };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-drift-eval-'));
    dynamo = await startDynalite();
    await ensureTables(dynamo.endpoint, Object.values(TABLES));
    const client = documentClient(dynamo.endpoint);
    const registry = new DynamoRegistry({ client, tableName: TABLES.registry });
    const store = new FsArtifactStore({ root: path.join(dir, 'artifacts') });
    await bootstrapDefaultModel({ registry, store }, DEFAULT_MODEL_DIR);
    await bootstrapDefaultModel({ registry, store }, DEFAULT_MODEL_DIR, { name: 'second' });
    captures = new DynamoCaptureSink({ client, tableName: TABLES.captures });
    reports = new DynamoDriftReportStore({ client, tableName: TABLES.drift });
    // Metrics are checked in their own test; elsewhere they are not written to the test output.
    base = { registry, store, captures, reports, metrics: { emit: () => undefined }, logger };
  });
  afterAll(async () => {
    await dynamo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('does not flag captures resampled from the reference, and publishes nothing', async () => {
    const now = nextWindow();
    await capture('default', now, referenceRows(500, 1));
    const { evaluate, events } = evaluator(now);
    const [summary] = await evaluate({ model: 'default' });
    expect(summary).toMatchObject({
      model: 'default',
      version: 1,
      status: 'ok',
      drift: false,
      published: false,
    });
    const [stored] = await reports.list('default', { limit: 1 });
    expect(stored).toMatchObject({ id: summary.reportId, drift: false, n: 500, detail: 'full' });
    expect(stored.window).toEqual({
      from: new Date(now.getTime() - 3_600_000).toISOString(),
      to: now.toISOString(),
    });
    for (const f of FEATURES) expect(stored.features[f].drifted).toBe(false);
    expect(events.events).toEqual([]);
  });

  it('flags captures shifted by 3 std, stores the report and publishes vigil.drift.detected', async () => {
    const now = nextWindow();
    await capture('default', now, referenceRows(500, 2, 3));
    const { evaluate, events } = evaluator(now);
    const [summary] = await evaluate({ model: 'default' });
    expect(summary).toMatchObject({ status: 'ok', drift: true, driftedShare: 1, published: true });
    const [stored] = await reports.list('default', { limit: 1 });
    expect(stored).toMatchObject({ id: summary.reportId, drift: true, n: 500 });
    expect(events.events).toHaveLength(1);
    const e = events.events[0];
    expect(e).toMatchObject({
      source: 'vigil.drift',
      'detail-type': 'vigil.drift.detected',
      time: now.toISOString(),
    });
    expect(e.detail).toMatchObject({
      model: 'default',
      version: 1,
      reportId: stored.id,
      n: 500,
      driftedShare: 1,
    });
    expect(e.detail.driftedFeatures).toEqual(FEATURES);
  });

  it('weights captures by their sample rate: anomalies kept at rate 1 do not pass for drift', async () => {
    // The traffic: 10,000 rows like the reference, captured at 10 %, and 120 rows 3 std away
    // (1.2 % of the traffic), always captured. Read as they are, 120 of 1,120 rows (11 %) sit
    // 3 std away, which every test flags; thinned to the traffic's mix, ~12 of ~1,012 do, which
    // is below what a window of 1,000 can tell from noise.
    const now = nextWindow();
    const normal = referenceRows(1000, 7);
    const far = referenceRows(120, 8, 3);
    await capture('default', now, normal, 0.1);
    const t = new Date(now.getTime() - 60_000);
    await captures.write(
      far.map((features, index) => ({
        model: 'default',
        version: 1,
        at: t.toISOString(),
        requestId: 'req-far',
        index,
        features,
        score: 0.9,
        anomaly: true,
        sampleRate: 1,
      })),
    );
    const { evaluate } = evaluator(now);
    const [summary] = await evaluate({ model: 'default' });
    expect(summary).toMatchObject({ status: 'ok', drift: false });
    const [stored] = await reports.list('default', { limit: 1 });
    // Every rate-0.1 row is kept; each rate-1 row with probability 0.1: Binomial(120, 0.1),
    // mean 12, sd 3.3; 5 sd either side (floored at 0).
    expect(stored.n).toBeGreaterThanOrEqual(1000);
    expect(stored.n).toBeLessThanOrEqual(1000 + 12 + 17);

    // The same rows with no rates (as before the field existed) are the 11 % the tests flag.
    const later = nextWindow();
    await capture('default', later, [...normal, ...far]);
    const [unweighted] = await evaluator(later).evaluate({ model: 'default' });
    expect(unweighted).toMatchObject({ status: 'ok', drift: true });
  });

  it('emits Drift, DriftedFeatureShare, CapturedRows per model and DriftScore per feature as EMF', async () => {
    const now = nextWindow();
    // Unshifted features are reference rows, but KS alone still flags 1 in 20 of them (it decides
    // by itself at α): the seed is one where none of the unshifted two is such a false alarm.
    await capture('default', now, referenceRows(400, 4, 3, ['cpu', 'memory', 'network']));
    const lines: string[] = [];
    const prev = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };
    // Dev mode writes EMF through the global console (as on the local twin); it would also
    // disable metrics unless told otherwise.
    process.env.POWERTOOLS_DEV = 'true';
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      const metrics = new PowertoolsMetricsSink(
        new Metrics({ namespace: 'VigilTest', serviceName: 'drift-test' }),
      );
      const { evaluate } = evaluator(now, { metrics });
      await evaluate({ model: 'default' });
    } finally {
      spy.mockRestore();
      for (const [key, value] of [
        ['POWERTOOLS_DEV', prev.dev],
        ['POWERTOOLS_METRICS_DISABLED', prev.disabled],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    const emf = lines.map((l) => JSON.parse(l));
    const metric = (name: string, feature?: string) =>
      emf.filter((m) => name in m && (feature === undefined || m.feature === feature));
    const one = (name: string, feature?: string) => {
      const found = metric(name, feature);
      expect(found, `${name} ${feature ?? ''}`).toHaveLength(1);
      return found[0];
    };
    expect(one('Drift')).toMatchObject({ Drift: 1, model: 'default', service: 'drift-test' });
    expect(one('DriftedFeatureShare').DriftedFeatureShare).toBeCloseTo(3 / 5, 12);
    expect(one('CapturedRows').CapturedRows).toBe(400);
    const dims = one('Drift')._aws.CloudWatchMetrics[0].Dimensions[0];
    expect([...dims].sort()).toEqual(['model', 'service']);
    for (const f of ['cpu', 'memory', 'network'])
      expect(one('DriftScore', f).DriftScore).toBeGreaterThanOrEqual(0.6);
    for (const f of ['disk_io', 'latency']) expect(one('DriftScore', f).DriftScore).toBeLessThan(0.6);
    const fdims = one('DriftScore', 'cpu')._aws.CloudWatchMetrics[0].Dimensions[0];
    expect([...fdims].sort()).toEqual(['feature', 'model', 'service']);
  });

  it('stores an insufficient-data report for an empty window, without event or error', async () => {
    const now = nextWindow();
    const { evaluate, events } = evaluator(now);
    const [summary] = await evaluate({ model: 'default' });
    expect(summary).toMatchObject({ status: 'insufficient_data', drift: null, published: false });
    const [stored] = await reports.list('default', { limit: 1 });
    expect(stored).toMatchObject({ id: summary.reportId, status: 'insufficient_data', drift: null, n: 0 });
    expect(events.events).toEqual([]);
  });

  it('applies per-model drift settings: 2 of 5 drifted features alarm only where driftShare is 0.4', async () => {
    const now = nextWindow();
    // A seed where no unshifted feature is a (1-in-20) KS false alarm: the test is about driftShare.
    await capture('default', now, referenceRows(500, 5, 3, ['cpu', 'memory']));
    const strict = await evaluator(now).evaluate({ model: 'default' });
    expect(strict[0]).toMatchObject({ drift: false, driftedShare: 0.4 });
    const tuned = await evaluator(now, { settings: { models: { default: { driftShare: 0.4 } } } }).evaluate({
      model: 'default',
    });
    expect(tuned[0]).toMatchObject({ drift: true, driftedShare: 0.4, published: true });
  });

  it('without a model in the event, evaluates the configured models, else every registered one', async () => {
    const now = nextWindow();
    await capture('second', now, referenceRows(300, 5, 3));
    const configured = await evaluator(now, { models: ['second'] }).evaluate({});
    expect(configured.map((s) => [s.model, s.drift])).toEqual([['second', true]]);
    const all = await evaluator(now).evaluate({});
    expect(all.map((s) => [s.model, s.status]).sort()).toEqual([
      ['default', 'insufficient_data'],
      ['second', 'ok'],
    ]);
  });

  it('keeps evaluating the other models when one fails, then fails the invocation naming it', async () => {
    const now = nextWindow();
    await capture('second', now, referenceRows(300, 6));
    const err = await evaluator(now, { models: ['ghost', 'second'] })
      .evaluate({})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftEvaluationError);
    const e = err as DriftEvaluationError;
    expect(e.failures.map((f) => f.model)).toEqual(['ghost']);
    expect(e.results.map((r) => [r.model, r.drift])).toEqual([['second', false]]);
    const [stored] = await reports.list('second', { limit: 1 });
    expect(stored.id).toBe(e.results[0].reportId);
  });

  it('keeps the report but fails the invocation when EventBridge keeps refusing the event', async () => {
    const now = nextWindow();
    await capture('default', now, referenceRows(300, 7, 3));
    let calls = 0;
    const refusing: EventPublisher = new EventBridgePublisher({
      eventBusName: 'default',
      maxAttempts: 3,
      sleep: async () => undefined,
      client: {
        async send(): Promise<PutEventsCommandOutput> {
          calls++;
          return { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }], $metadata: {} };
        },
      },
    });
    const err = await evaluator(now, { events: refusing })
      .evaluate({ model: 'default' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftEvaluationError);
    expect((err as DriftEvaluationError).failures[0].error).toMatch(/InternalFailure/);
    expect(calls).toBe(3);
    const [stored] = await reports.list('default', { limit: 1 });
    expect(stored).toMatchObject({ drift: true, window: { to: now.toISOString() } });
  });

  it('the handler rejects an event whose model name is not a model name, before any wiring', async () => {
    await expect(handler({ model: '../etc' }, lambdaContext('drift', 'r1'))).rejects.toThrow(
      /Invalid drift evaluation event/,
    );
  });

  it('the use case reports a model name the registry refuses as that model failing', async () => {
    const err = await evaluator(nextWindow())
      .evaluate({ model: '../etc' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftEvaluationError);
    expect((err as DriftEvaluationError).failures[0].error).toMatch(/Invalid model name/);
  });
});
