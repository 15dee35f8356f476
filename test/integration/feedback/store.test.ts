import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCaptureSink } from '#adapters/dynamodb-captures.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoFeedbackStore } from '#adapters/dynamodb-feedback.ts';
import { tableDefinition } from '#adapters/tables.ts';
import { modelQuality, recordFeedback } from '#app/feedback.ts';
import { CAPTURE_REQUEST_INDEX } from '#contracts';
import { decideLabel } from '#core/feedback/labels.ts';
import type { CapturedRow } from '#core/ports.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';

let db: LocalDynamo;
let n = 0;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.close();
});

async function world() {
  const id = `${process.pid}-${++n}`;
  const captures = `captures-${id}`;
  const labels = `feedback-${id}`;
  await ensureTables(db.endpoint, [captures, labels], { capturesTables: [captures] });
  const client = documentClient(db.endpoint);
  const sink = new DynamoCaptureSink({ client, tableName: captures });
  const store = new DynamoFeedbackStore({ client, tableName: labels });
  // The registry's part: model 'web' has versions 1 and 2.
  const registry = {
    async listVersions(model: string) {
      if (model !== 'web') throw Object.assign(new Error(`Model '${model}' does not exist`), { status: 404 });
      return [];
    },
    async getVersion(model: string, version: number) {
      if (model !== 'web' || version > 2) throw new Error('no such version');
      return {} as never;
    },
  };
  return { sink, store, deps: { labels: store, lookup: sink, captures: sink, registry } };
}

const row = (over: Partial<CapturedRow>): CapturedRow => ({
  model: 'web',
  version: 2,
  at: '2025-03-01T10:15:00.000Z',
  requestId: 'req-1',
  index: 0,
  features: { cpu: 1 },
  score: 0.5,
  anomaly: false,
  sampleRate: 1,
  ...over,
});

describe('feedback labels on dynalite', () => {
  it('writes a label once: a second create and a stale revision are refused', async () => {
    const { store } = await world();
    const first = decideLabel(undefined, {
      model: 'web',
      requestId: 'req-1',
      index: 3,
      label: 'normal',
      capture: 'unchecked',
      at: '2025-03-01T00:00:00.000Z',
    }).record;
    expect(await store.put(first, null)).toBe(true);
    expect(await store.put(first, null)).toBe(false);
    const changed = decideLabel(first, { ...first, label: 'anomaly', at: '2025-03-02T00:00:00.000Z' }).record;
    expect(await store.put(changed, 1)).toBe(true);
    expect(await store.put(changed, 1)).toBe(false);
    expect(await store.get('web', 'req-1', 3)).toEqual(changed);
    expect(await store.get('web', 'req-1', 4)).toBeUndefined();
    expect(await store.list('web')).toEqual([changed]);
    expect(await store.list('other')).toEqual([]);
  });

  it('learns model and version from the captures through the request index; a sibling row says the version of an uncaptured one', async () => {
    const { sink, deps } = await world();
    await sink.write([row({ index: 0 }), row({ index: 2, score: 0.9, anomaly: true })]);
    const captured = await recordFeedback(deps)({ requestId: 'req-1', index: 2, label: 'anomaly' });
    expect(captured.label).toMatchObject({
      model: 'web',
      version: 2,
      capture: 'captured',
      predictedAt: '2025-03-01T10:15:00.000Z',
    });
    const sibling = await recordFeedback(deps)({ requestId: 'req-1', index: 1, label: 'normal' });
    expect(sibling.label).toMatchObject({ model: 'web', version: 2, capture: 'not-captured' });
    expect(sibling.label.predictedAt).toBeUndefined();
    await expect(recordFeedback(deps)({ requestId: 'req-1', label: 'normal', version: 1 })).rejects.toThrow(
      /scored by version 2/,
    );
  });

  it('keeps one label per row when two people label it at once: one creates, the other changes it', async () => {
    const { sink, store, deps } = await world();
    await sink.write([row({})]);
    const results = await Promise.all([
      recordFeedback(deps)({ requestId: 'req-1', label: 'anomaly', by: 'key-a' }),
      recordFeedback(deps)({ requestId: 'req-1', label: 'normal', by: 'key-b' }),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['changed', 'created']);
    const stored = await store.get('web', 'req-1', 0);
    expect(stored?.revision).toBe(2);
    expect(stored?.history).toHaveLength(1);
    expect(stored?.history[0]?.label).not.toBe(stored?.label);
  });

  it('reports quality over the window, captures joined by request and row', async () => {
    const { sink, deps } = await world();
    // Hand-made case: scores 0.9 (anomaly, flagged), 0.7 (normal, flagged), 0.6 (anomaly, not flagged),
    // 0.2 (normal): tp 1, fp 1, fn 1; pairs (0.9>0.7, 0.9>0.2, 0.6<0.7, 0.6>0.2) → AUC 3/4;
    // AP = 1/2 · 1 + 1/2 · 2/3 = 5/6 (scikit-learn's average_precision_score gives 0.8333…).
    const at = (m: number) => new Date(Date.UTC(2025, 2, 1, 10, m)).toISOString();
    await sink.write([
      row({ requestId: 'a', at: at(1), score: 0.9, anomaly: true }),
      row({ requestId: 'b', at: at(2), score: 0.7, anomaly: true }),
      row({ requestId: 'c', at: at(3), score: 0.6, anomaly: false }),
      row({ requestId: 'd', at: at(4), score: 0.2, anomaly: false }),
      row({ requestId: 'e', at: at(5), score: 0.1, anomaly: false }),
    ]);
    const now = () => new Date('2025-03-01T12:00:00.000Z');
    const record = recordFeedback({ ...deps, now });
    await record({ requestId: 'a', label: 'anomaly' });
    await record({ requestId: 'b', label: 'normal' });
    await record({ requestId: 'c', label: 'anomaly' });
    await record({ requestId: 'd', label: 'normal' });
    const q = await modelQuality({ ...deps, now })('web', 86_400_000);
    expect(q).toMatchObject({ model: 'web', labels: 4, captured: 4 });
    expect(q.versions).toEqual([
      {
        version: 2,
        labels: 4,
        anomalies: 2,
        captured: 4,
        confusion: { tp: 1, fp: 1, fn: 1, tn: 1 },
        precision: 0.5,
        recall: 0.5,
        rocAuc: 0.75,
        averagePrecision: expect.closeTo(5 / 6, 12),
      },
    ]);
    // A window after the predictions holds none of them.
    const later = await modelQuality({ ...deps, now: () => new Date('2025-03-03T12:00:00.000Z') })(
      'web',
      3_600_000,
    );
    expect(later).toMatchObject({ labels: 0, versions: [] });
  });

  it('without a request lookup (the Firehose path) needs the model, stores the label unchecked, and still joins it with its capture', async () => {
    const { sink, deps } = await world();
    const { lookup: _none, ...noLookup } = deps;
    await sink.write([
      row({ requestId: 'f1', score: 0.8, anomaly: true }),
      row({ requestId: 'f2', score: 0.3 }),
    ]);
    const now = () => new Date('2025-03-01T12:00:00.000Z');
    const record = recordFeedback({ ...noLookup, now });
    await expect(record({ requestId: 'f1', label: 'anomaly' })).rejects.toThrow(
      /cannot be looked up by request: send 'model'/,
    );
    expect((await record({ requestId: 'f1', label: 'anomaly', model: 'web' })).label).toMatchObject({
      capture: 'unchecked',
      model: 'web',
    });
    await record({ requestId: 'f2', label: 'normal', model: 'web' });
    const q = await modelQuality({ ...noLookup, now })('web', 86_400_000);
    expect(q.versions).toEqual([
      expect.objectContaining({ version: 2, labels: 2, captured: 2, precision: 1, recall: 1, rocAuc: 1 }),
    ]);
  });

  it('rebuilds a captures table from before the request index with the index, keeping its items', async () => {
    const raw = new DynamoDBClient({
      endpoint: db.endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const name = `old-captures-${process.pid}`;
    await raw.send(new CreateTableCommand(tableDefinition(name)));
    await raw.send(
      new PutItemCommand({
        TableName: name,
        Item: {
          PK: { S: 'CAP#web#2025-03-01T10' },
          SK: { S: 'x' },
          requestId: { S: 'old-req' },
          model: { S: 'web' },
        },
      }),
    );
    await ensureTables(db.endpoint, [name], { capturesTables: [name] });
    const d = await raw.send(new DescribeTableCommand({ TableName: name }));
    expect(d.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([CAPTURE_REQUEST_INDEX.name]);
    const sink = new DynamoCaptureSink({ client: documentClient(db.endpoint), tableName: name });
    expect((await sink.findRequest('old-req')).map((r) => r.model)).toEqual(['web']);
    raw.destroy();
  });
});
