import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore, fitReport } from '#adapters/dynamodb-drift-reports.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { syntheticReport } from './helpers.ts';

const TABLE = 'drift-reports-test';

describe('DynamoDriftReportStore on dynalite', () => {
  let dynamo: LocalDynamo;
  let store: DynamoDriftReportStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTables(dynamo.endpoint, [TABLE]);
    store = new DynamoDriftReportStore({ client: documentClient(dynamo.endpoint), tableName: TABLE });
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  it('lists a model’s reports newest first, honours the limit and keeps models apart', async () => {
    const times = ['2025-03-01T10:00:00.000Z', '2025-03-01T12:00:00.000Z', '2025-03-01T11:00:00.000Z'];
    for (const [i, createdAt] of times.entries()) {
      await store.put(syntheticReport('order-model', 2, { seed: i }), { createdAt, id: `r${i}` });
    }
    await store.put(syntheticReport('other-model', 2), { createdAt: '2025-03-01T13:00:00.000Z' });

    const all = await store.list('order-model');
    expect(all.map((r) => r.id)).toEqual(['r1', 'r2', 'r0']);
    expect(all.every((r) => r.model === 'order-model')).toBe(true);
    const two = await store.list('order-model', { limit: 2 });
    expect(two.map((r) => r.createdAt)).toEqual(['2025-03-01T12:00:00.000Z', '2025-03-01T11:00:00.000Z']);
    expect(await store.list('no-such-model')).toEqual([]);
  });

  it('round-trips a 50-feature report with every test’s numbers (detail full)', async () => {
    const report = syntheticReport('wide-model', 50, { shifted: 30 });
    const stored = await store.put(report, { createdAt: '2025-04-01T00:00:00.000Z' });
    expect(stored.detail).toBe('full');
    const [back] = await store.list('wide-model', { limit: 1 });
    expect(back.id).toBe(stored.id);
    expect(back.detail).toBe('full');
    expect(back.omittedFeatures).toBe(0);
    expect(Object.keys(back.features)).toHaveLength(50);
    expect(back.drift).toBe(report.drift);
    expect(back.driftedShare).toBe(report.driftedShare);
    const f = report.features.feature_0000;
    expect(back.features.feature_0000.tests).toEqual(JSON.parse(JSON.stringify(f.tests)));
    expect(back.features.feature_0000.distribution).toEqual(f.distribution);
    expect(back.features.feature_0000.distribution?.current).toHaveLength(21);
    expect(back.features.feature_0000.drifted).toBe(true);
    expect(back.features.feature_0049.drifted).toBe(false);
  });

  it('degrades a report too big for one item but keeps every verdict, and DynamoDB accepts it', async () => {
    const report = syntheticReport('huge-model', 1500, { shifted: 10 });
    const stored = await store.put(report, { createdAt: '2025-05-01T00:00:00.000Z' });
    expect(['summary', 'verdicts']).toContain(stored.detail);
    const [back] = await store.list('huge-model', { limit: 1 });
    expect(Object.keys(back.features)).toHaveLength(1500);
    for (const [name, f] of Object.entries(report.features)) {
      expect(back.features[name].drifted).toBe(f.drifted);
      expect(back.features[name].votes).toBe(f.votes);
      // Distributions go with the tests: kept (to 4 digits) in a summary, dropped from verdicts.
      if (back.detail === 'verdicts') expect(back.features[name].distribution).toBeUndefined();
      else expect(back.features[name].distribution?.current).toHaveLength(21);
    }
  });

  it('keeps the drifted features first when even verdicts do not fit', () => {
    const report = syntheticReport('huge-model', 400, { shifted: 5, n: 40 });
    const { stored, json } = fitReport(report, { id: 'x', createdAt: '2025-01-01T00:00:00.000Z' }, 20_000);
    expect(stored.detail).toBe('partial');
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(20_000);
    const kept = Object.keys(stored.features);
    expect(kept.length).toBeGreaterThan(5);
    expect(stored.omittedFeatures).toBe(400 - kept.length);
    const drifted = Object.entries(report.features)
      .filter(([, f]) => f.drifted)
      .map(([n]) => n);
    expect(drifted.length).toBeGreaterThan(0);
    for (const n of drifted) expect(kept).toContain(n);
  });

  it('keeps a small report whole (detail full, nothing omitted)', () => {
    const report = syntheticReport('small-model', 5);
    const { stored } = fitReport(report, { id: 'y', createdAt: '2025-01-01T00:00:00.000Z' }, 350_000);
    expect(stored.detail).toBe('full');
    expect(stored.omittedFeatures).toBe(0);
  });
});
