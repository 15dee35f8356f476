import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { DynamoReleaseStore } from '#adapters/dynamodb-releases.ts';
import { ConflictError, VigilError } from '#core/errors.ts';
import { summarizeManifest } from '#core/registry/rules.ts';
import type { ReleaseRecord } from '#core/release/types.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';

let counter = 0;
async function fresh(db: LocalDynamo) {
  const tableName = `releases-${process.pid}-${++counter}`;
  await ensureTables(db.endpoint, [tableName]);
  const client = documentClient(db.endpoint);
  const clock = steppingClock();
  return {
    client,
    tableName,
    store: new DynamoReleaseStore({ client, tableName, clock }),
    registry: new DynamoRegistry({ client, tableName, clock }),
  };
}

const start = (over: Partial<ReleaseRecord> = {}): Omit<ReleaseRecord, 'revision'> => ({
  model: 'cpu-model',
  releaseId: 'r-1',
  candidateVersion: 2,
  baselineVersion: 1,
  policy: 'canary10-15m',
  phase: 'shadow',
  weight: 0,
  step: 0,
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  startedBy: 'api:alice',
  judgements: [],
  ...over,
});

async function errorOf(p: Promise<unknown>): Promise<VigilError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VigilError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('DynamoReleaseStore on dynalite', () => {
  let db: LocalDynamo;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => db.close());

  it('begins a release at revision 1 and reads it back as the active one', async () => {
    const { store } = await fresh(db);
    const r = await store.begin(start());
    expect(r.revision).toBe(1);
    expect(await store.active('cpu-model')).toEqual(r);
    expect(await store.get('cpu-model', 'r-1')).toEqual(r);
    expect(await store.active('mem-model')).toBeUndefined();
  });

  it('refuses a second release for the same model with a 409 while one runs', async () => {
    const { store } = await fresh(db);
    await store.begin(start());
    const e = await errorOf(store.begin(start({ releaseId: 'r-2', candidateVersion: 3 })));
    expect(e).toBeInstanceOf(ConflictError);
    expect(e.status).toBe(409);
    expect(e.details).toMatchObject({ releaseId: 'r-1' });
    // Another model is free.
    await expect(store.begin(start({ model: 'mem-model', releaseId: 'r-9' }))).resolves.toMatchObject({
      revision: 1,
    });
  });

  it('lets exactly one of many concurrent begins win', async () => {
    const { store } = await fresh(db);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => store.begin(start({ releaseId: `r-${i}` }))),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
    }
    const active = await store.active('cpu-model');
    expect(active?.releaseId).toBe((won[0] as PromiseFulfilledResult<ReleaseRecord>).value.releaseId);
  });

  it('updates conditionally on the revision and refuses a stale revision', async () => {
    const { store } = await fresh(db);
    await store.begin(start());
    const moved = await store.update('cpu-model', 'r-1', 1, { phase: 'traffic', weight: 0.1, step: 1 });
    expect(moved).toMatchObject({ revision: 2, phase: 'traffic', weight: 0.1, step: 1 });
    expect(moved.updatedAt).not.toBe('2026-01-01T00:00:00.000Z');
    const e = await errorOf(store.update('cpu-model', 'r-1', 1, { weight: 0.5 }));
    expect(e).toBeInstanceOf(ConflictError);
    expect(e.details).toMatchObject({ expectedRevision: 1, actualRevision: 2 });
    expect((await store.active('cpu-model'))?.weight).toBe(0.1);
  });

  it('lets exactly one of two racing updates on the same revision win', async () => {
    const { store } = await fresh(db);
    await store.begin(start());
    const results = await Promise.allSettled([
      store.update('cpu-model', 'r-1', 1, { weight: 0.1 }),
      store.update('cpu-model', 'r-1', 1, { weight: 0.5 }),
      store.update('cpu-model', 'r-1', 1, { weight: 0.9 }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<ReleaseRecord>[];
    expect(won).toHaveLength(1);
    const active = await store.active('cpu-model');
    expect(active).toMatchObject({ revision: 2, weight: won[0]?.value.weight });
  });

  it('frees the model when a release ends, keeps the ended one in the list, and refuses updates to it', async () => {
    const { store } = await fresh(db);
    await store.begin(start());
    const ended = await store.update('cpu-model', 'r-1', 1, {
      phase: 'rolled-back',
      weight: 0,
      outcome: { reason: 'anomaly-rate', breaches: [{ signal: 'anomaly-rate', value: 9, limit: 2 }] },
    });
    expect(ended.endedAt).toBe(ended.updatedAt);
    expect(await store.active('cpu-model')).toBeUndefined();
    expect(await store.get('cpu-model', 'r-1')).toEqual(ended);
    const e = await errorOf(store.update('cpu-model', 'r-1', 2, { phase: 'traffic' }));
    expect(e).toBeInstanceOf(ConflictError);
    expect(e.message).toMatch(/ended: rolled-back/);

    const next = await store.begin(start({ releaseId: 'r-2', startedAt: '2026-01-02T00:00:00.000Z' }));
    expect((await store.list('cpu-model')).map((r) => [r.releaseId, r.phase])).toEqual([
      ['r-2', 'shadow'],
      ['r-1', 'rolled-back'],
    ]);
    expect((await store.list('cpu-model', { limit: 1 })).map((r) => r.releaseId)).toEqual([next.releaseId]);
  });

  it('recovers from an end that crashed before deleting the active item', async () => {
    const { store, client, tableName } = await fresh(db);
    await store.begin(start());
    // Simulate step 1 of an end only: the terminal record replaces the active item, nothing more.
    const out = await client.send(
      new GetCommand({ TableName: tableName, Key: { PK: 'MODEL#cpu-model', SK: 'RELEASE_ACTIVE' } }),
    );
    const body = JSON.parse(String(out.Item?.body)) as ReleaseRecord;
    const terminal = { ...body, phase: 'promoted', revision: 2 } as ReleaseRecord;
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...out.Item, phase: 'promoted', revision: 2, body: JSON.stringify(terminal) },
      }),
    );
    expect(await store.active('cpu-model')).toBeUndefined();
    expect((await store.list('cpu-model')).map((r) => r.phase)).toEqual(['promoted']);
    await store.begin(start({ releaseId: 'r-2', startedAt: '2026-01-02T00:00:00.000Z' }));
    expect((await store.list('cpu-model')).map((r) => [r.releaseId, r.phase])).toEqual([
      ['r-2', 'shadow'],
      ['r-1', 'promoted'],
    ]);
  });

  it('keeps non-finite numbers of a judgement (an anomaly-rate ratio of Infinity)', async () => {
    const { store } = await fresh(db);
    await store.begin(start());
    const judgement = {
      at: '2026-01-01T00:05:00.000Z',
      step: 0,
      phase: 'shadow' as const,
      weight: 0,
      window: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T00:05:00.000Z' },
      shadow: {
        rows: 50,
        disagreement: 0.3,
        rankCorrelation: 0.2,
        anomalyRateRatio: Infinity,
        addedP99Ms: 1.5,
      },
      decision: 'rollback' as const,
      breaches: [{ signal: 'shadow-disagreement', value: 0.3, limit: 0.05 }],
    };
    await store.update('cpu-model', 'r-1', 1, { judgements: [judgement] });
    const back = await store.active('cpu-model');
    expect(back?.judgements[0]?.shadow?.anomalyRateRatio).toBe(Number.POSITIVE_INFINITY);
  });

  it('leaves the registry of the same table intact (history, listings)', async () => {
    const { store, registry, client, tableName } = await fresh(db);
    const v = await registry.register({
      name: 'cpu-model',
      sha256: 'a'.repeat(64),
      summary: summarizeManifest(fixturePackage().manifest),
      actor: 'alice',
      store: async (n) => `file:///store/${n}`,
    });
    await store.begin(start());
    await store.update('cpu-model', 'r-1', 1, { phase: 'failed' });
    expect((await registry.history('cpu-model')).map((e) => e.type)).toEqual(['registered']);
    expect((await registry.listVersions('cpu-model')).map((x) => x.version)).toEqual([v.version]);
    expect((await registry.listAliases('cpu-model')).length).toBe(0);
    // The active item is gone once a release ends: one GetItem answers "is one running?".
    const out = await client.send(
      new GetCommand({ TableName: tableName, Key: { PK: 'MODEL#cpu-model', SK: 'RELEASE_ACTIVE' } }),
    );
    expect(out.Item).toBeUndefined();
  });

  it('rejects bad input with a 400 and an unknown release with a 404', async () => {
    const { store } = await fresh(db);
    expect((await errorOf(store.begin(start({ model: 'Bad Name' })))).status).toBe(400);
    expect((await errorOf(store.begin(start({ releaseId: 'a#b' })))).status).toBe(400);
    expect((await errorOf(store.begin(start({ phase: 'promoted' })))).status).toBe(400);
    expect((await errorOf(store.update('cpu-model', 'nope', 1, { weight: 1 }))).status).toBe(404);
  });
});
