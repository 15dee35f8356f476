import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwin, type Twin } from '../../local/twin.ts';
import { defaultManifest, referenceRows } from '../integration/drift-handlers/helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below.
type Json = any;

const manifest = defaultManifest;

describe('drift on the local twin: score traffic → evaluator → GET /v1/models/{model}/drift', () => {
  let twin: Twin;
  let dir: string;
  const eventsFile = () => path.join(dir, 'events.jsonl');
  const headers = () => ({ 'content-type': 'application/json', 'x-api-key': twin.apiKey });
  const scoreAll = async (rows: Record<string, number>[]) => {
    for (let i = 0; i < rows.length; i += 200) {
      const res = await fetch(`${twin.url}/v1/models/default/score`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ rows: rows.slice(i, i + 200) }),
      });
      expect(res.status).toBe(200);
    }
  };
  const reports = async (query = ''): Promise<Json> => {
    const res = await fetch(`${twin.url}/v1/models/default/drift${query}`, { headers: headers() });
    expect(res.status).toBe(200);
    return res.json();
  };
  const events = async (): Promise<Json[]> => {
    const text = await readFile(eventsFile(), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-drift-'));
    // The twin keeps the caller's environment; this routes drift events to a file we can read.
    process.env.VIGIL_EVENTS_FILE = path.join(dir, 'events.jsonl');
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    delete process.env.VIGIL_EVENTS_FILE;
    await rm(dir, { recursive: true, force: true });
  });

  it('stores an insufficient-data report, without an event, before any traffic', async () => {
    const [[summary]] = (await twin.evaluateDrift()) as Json[][];
    expect(summary).toMatchObject({ model: 'default', version: 1, status: 'insufficient_data', drift: null });
    const body = await reports();
    expect(body.reports[0]).toMatchObject({ status: 'insufficient_data', drift: null, n: 0 });
    expect(await events()).toEqual([]);
  });

  it('does not flag traffic drawn from the reference sample', async () => {
    await scoreAll(referenceRows(600, 7, 0));
    const [[summary]] = (await twin.evaluateDrift()) as Json[][];
    expect(summary).toMatchObject({ model: 'default', status: 'ok', drift: false, published: false });
    const latest = (await reports('?limit=1')).reports;
    expect(latest).toHaveLength(1);
    expect(latest[0]).toMatchObject({ model: 'default', version: 1, status: 'ok', drift: false, n: 600 });
    for (const f of manifest.features) expect(latest[0].features[f].drifted).toBe(false);
    expect(await events()).toEqual([]);
  });

  it('flags traffic shifted by 3 reference std on every feature, reports it and publishes the event', async () => {
    await scoreAll(referenceRows(600, 11, 3));
    const [[summary]] = (await twin.evaluateDrift()) as Json[][];
    expect(summary).toMatchObject({ model: 'default', status: 'ok', drift: true, published: true });
    const body = await reports();
    // Newest first: the shifted window, then the reference-like one, then the empty one.
    expect(body.reports.map((r: Json) => r.drift)).toEqual([true, false, null]);
    const latest = body.reports[0];
    // The window holds both batches (1,200 rows); half of them shifted still moves every feature.
    expect(latest.n).toBe(1200);
    expect(latest.driftedShare).toBe(1);
    for (const f of manifest.features) {
      expect(latest.features[f].drifted).toBe(true);
      expect(latest.features[f].tests.ks.pvalue).toBeLessThan(1e-6);
    }
    const published = await events();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      source: 'vigil.drift',
      'detail-type': 'vigil.drift.detected',
      detail: { model: 'default', version: 1, reportId: latest.id },
    });
    expect([...published[0].detail.driftedFeatures].sort()).toEqual([...manifest.features].sort());
  });

  it('answers 404 for a model the registry does not know', async () => {
    const res = await fetch(`${twin.url}/v1/models/nope/drift`, { headers: headers() });
    expect(res.status).toBe(404);
    expect(((await res.json()) as Json).error.code).toBe('ModelNotFound');
  });
});
