import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCsv } from '#core/csv.ts';
import { startTwin, type Twin } from '../../local/twin.ts';
import { defaultManifest, referenceRows } from '../integration/drift-handlers/helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies and JSON lines are checked field by field.
type Json = any;

/**
 * The closed loop on the twin, over HTTP where the API has a route: shifted traffic is scored
 * and captured → the drift evaluator reports drift and publishes `vigil.drift.detected` → the
 * synthesized rule starts the synthesized retraining machine → the candidate is validated,
 * trained, evaluated against production, gated and registered. (No release: that machine is
 * not built yet, so production keeps serving version 1.)
 */
describe('retraining on the local twin', () => {
  let twin: Twin;
  let dir: string;
  const headers = () => ({ 'content-type': 'application/json', 'x-api-key': twin.apiKey });
  const lines = async (file: string): Promise<Json[]> =>
    (await readFile(path.join(dir, file), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
  const get = async (p: string): Promise<Json> => {
    const res = await fetch(`${twin.url}${p}`, { headers: headers() });
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-retrain-'));
    process.env.VIGIL_EVENTS_FILE = path.join(dir, 'events.jsonl');
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0, retrainOnDrift: true });
  });
  afterAll(async () => {
    await twin?.close();
    delete process.env.VIGIL_EVENTS_FILE;
    await rm(dir, { recursive: true, force: true });
  });

  it('drift starts a retraining execution that registers an evaluated candidate with lineage', async () => {
    const rows = referenceRows(900, 21, 1.5);
    for (let i = 0; i < rows.length; i += 300) {
      const res = await fetch(`${twin.url}/v1/models/default/score`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ rows: rows.slice(i, i + 300) }),
      });
      expect(res.status).toBe(200);
    }
    const [[summary]] = (await twin.evaluateDrift()) as Json[][];
    expect(summary).toMatchObject({ model: 'default', drift: true, published: true });
    const runner = await twin.retraining.runner();
    await runner.whenIdle();
    const [execution] = runner.list();
    expect(execution.input).toMatchObject({
      model: 'default',
      trigger: 'drift',
      driftReportId: summary.reportId,
    });
    expect(execution.error).toBeUndefined();
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.state).toBe('Succeeded');
    const entered = execution.history.filter((h) => h.type === 'StateEntered').map((h) => h.state);
    expect(entered).toEqual(expect.arrayContaining(['AcquireLock', 'TrainInLambda', 'Register', 'Notify']));
    expect(entered).not.toContain('TrainOnEks');

    const versions = (await get('/v1/models/default/versions')).versions as Json[];
    const v2 = versions.find((v) => v.version === 2);
    expect(v2).toMatchObject({
      approval: 'Approved',
      lineage: { parentVersion: 1, driftReportId: summary.reportId },
    });
    expect(v2.lineage.executionArn).toBe(execution.executionArn);
    expect(v2.metrics['eval.injectedRocAuc']).toBeGreaterThan(0.5);
    expect(v2.summary.trainingRows).toBeGreaterThan(600);
    // Production is untouched until a release moves it.
    expect((await get('/v1/models')).models[0].aliases.production).toBe(1);

    const notes = await lines('notifications.jsonl');
    expect(notes.map((n) => n.subject)).toEqual(['Vigil retraining of default: succeeded']);
    expect(notes[0].body).toMatchObject({
      outcome: 'succeeded',
      version: 2,
      executionArn: execution.executionArn,
    });
    const types = (await lines('events.jsonl')).map((e) => e['detail-type']);
    expect(types).toEqual(['vigil.drift.detected', 'vigil.retraining.succeeded']);
    const history = (await get('/v1/models/default/history')).events as Json[];
    const retraining = history.filter((e) => String(e.type).startsWith('retraining-')).map((e) => e.type);
    expect(retraining).toEqual(['retraining-started', 'retraining-finished']);
  }, 600_000);

  it('ends a run on bad data at ValidateData, naming the check and the numbers', async () => {
    const cols = defaultManifest.features.map((f) =>
      Float64Array.from(referenceRows(600, 5).map((r) => r[f])),
    );
    cols[0].fill(50); // cpu stuck at one value
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, toCsv(defaultManifest.features, cols));
    const runner = await twin.retraining.runner();
    const { done } = runner.start('retraining', { model: 'default', trigger: 'manual', data: file });
    const execution = await done;
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.error).toBe('DataValidationFailed');
    const notes = await lines('notifications.jsonl');
    expect(notes.at(-1).subject).toBe('Vigil retraining of default: validation-failed');
    expect(notes.at(-1).body.summary).toContain('constantColumn: cpu is constant (50)');
    expect((await lines('events.jsonl')).at(-1)['detail-type']).toBe('vigil.retraining.validation-failed');
    expect(((await get('/v1/models/default/versions')).versions as Json[]).length).toBe(2);
  }, 300_000);
});
