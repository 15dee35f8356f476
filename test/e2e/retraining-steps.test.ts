import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCsv } from '#core/csv.ts';
import { modelsCli } from '../../bin/commands/models-cli.ts';
import { startTwin, type Twin } from '../../local/twin.ts';
import { defaultManifest, referenceRows } from '../integration/drift-handlers/helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
type Json = any;

/**
 * `GET /v1/models/{model}/retraining/{executionName}` on the twin (dev machine): the steps of a
 * finished run in the order the definition in lib/stacks/pipeline-stack.ts takes them, a run on
 * bad data ending at its Fail state, the 400/404 answers, and `vigil models retraining <m> <e>`.
 */
describe('the steps of a retraining execution, over the API of the twin', () => {
  let twin: Twin;
  let dir: string;
  const call = async (p: string, key = twin.apiKey): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${twin.url}${p}`, { headers: { 'x-api-key': key } });
    return { status: res.status, body: await res.json() };
  };
  const csv = async (name: string, edit?: (cols: Float64Array[]) => void) => {
    const cols = defaultManifest.features.map((f) =>
      Float64Array.from(referenceRows(800, 9).map((r) => r[f] as number)),
    );
    edit?.(cols);
    const file = path.join(dir, name);
    await writeFile(file, toCsv(defaultManifest.features, cols));
    return file;
  };
  /** Starts a manual run over HTTP and waits for it to end; returns its name. */
  const run = async (data: string): Promise<string> => {
    const res = await fetch(`${twin.url}/v1/models/default/retrain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.apiKey },
      body: JSON.stringify({ data, seed: 7 }),
    });
    expect(res.status).toBe(202);
    const { executionArn } = (await res.json()) as { executionArn: string };
    await (await twin.retraining.runner()).whenIdle();
    return executionArn.split(':').at(-1) as string;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-steps-'));
    process.env.VIGIL_EVENTS_FILE = path.join(dir, 'events.jsonl');
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    delete process.env.VIGIL_EVENTS_FILE;
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every step of a finished run in order, each succeeded, with its times', async () => {
    const name = await run(await csv('fresh.csv'));
    const { status, body } = await call(`/v1/models/default/retraining/${name}`, twin.scoreApiKey);
    expect(status).toBe(200);
    expect(body).toMatchObject({ model: 'default', name, status: 'SUCCEEDED', trigger: 'manual' });
    expect(body.historyTruncated).toBe(false);
    // The dev machine's path for good data (pipeline-stack.ts: no approval step in dev; the
    // Release step runs the release machine as its `.sync` child).
    expect(body.steps.map((s: Json) => s.name)).toEqual(EXPECTED_PATH);
    expect(body.steps.map((s: Json) => s.type)).toEqual(EXPECTED_TYPES);
    for (const [i, s] of (body.steps as Json[]).entries()) {
      expect(s.outcome).toBe('succeeded');
      expect(s.retries).toBe(0);
      expect(Date.parse(s.exitedAt)).toBeGreaterThanOrEqual(Date.parse(s.enteredAt));
      if (i > 0)
        expect(Date.parse(s.enteredAt)).toBeGreaterThanOrEqual(Date.parse(body.steps[i - 1].exitedAt));
      if (i + 1 < body.steps.length) expect(s.next).toBe(body.steps[i + 1].name);
    }
    // The list's "step" is the last of them.
    const listed = (await call('/v1/models/default/retraining')).body.executions.find(
      (e: Json) => e.name === name,
    );
    expect(listed.step).toBe(EXPECTED_PATH.at(-1));

    // The CLI prints the same steps, one line each.
    let text = '';
    const code = await modelsCli(
      ['retraining', 'default', name, '--url', twin.url, '--api-key', twin.apiKey],
      {
        out: (t) => {
          text += t;
        },
        err: (t) => {
          text += t;
        },
      },
    );
    expect(code).toBe(0);
    expect(text).toContain(`${name}: SUCCEEDED`);
    expect(text).toMatch(/PrepareData\s+Task\s+succeeded/);
    expect(text.trim().split('\n')).toHaveLength(2 + EXPECTED_PATH.length);
  }, 300_000);

  it('ends a run on bad data at its Fail state with the error, after Notify', async () => {
    const name = await run(await csv('bad.csv', (cols) => cols[0].fill(50)));
    const { body } = await call(`/v1/models/default/retraining/${name}`);
    expect(body.status).toBe('FAILED');
    const names = body.steps.map((s: Json) => s.name);
    expect(names.slice(0, 6)).toEqual([
      'AcquireLock',
      'LockAcquired?',
      'PrepareData',
      'ValidateData',
      'DataValid?',
      'Mark-validation-failed',
    ]);
    expect(names.slice(-3)).toEqual(['Notify', 'Outcome?', 'DataValidationFailed']);
    const last = body.steps.at(-1);
    expect(last).toMatchObject({ type: 'Fail', outcome: 'failed', error: 'DataValidationFailed' });
    expect(last.exitedAt).toBeUndefined();
  }, 300_000);

  it('answers 404 for an unknown execution or one of another model, 400 for a malformed name', async () => {
    const name = (await call('/v1/models/default/retraining')).body.executions[0].name as string;
    const unknown = await call('/v1/models/default/retraining/no-such-execution');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NotFound');
    const other = await call(`/v1/models/other/retraining/${name}`);
    expect(other.status).toBe(404);
    expect(other.body.error.message).toContain("model 'other'");
    for (const bad of ['a.b', 'x'.repeat(81), '%20x']) {
      const r = await call(`/v1/models/default/retraining/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code).toBe('BadRequest');
    }
    expect((await call(`/v1/models/default/retraining/${name}`, 'not-a-key')).status).toBe(403);
  });
});

/** Read off the definition (lib/stacks/pipeline-stack.ts) for the dev environment (release after register). */
const EXPECTED_PATH = [
  'AcquireLock',
  'LockAcquired?',
  'PrepareData',
  'ValidateData',
  'DataValid?',
  'TrainWhere?',
  'TrainInLambda',
  'Evaluate',
  'Gate',
  'GatePassed?',
  'Register',
  'Release',
  'Mark-succeeded',
  'Notify',
  'Outcome?',
  'Succeeded',
];
const EXPECTED_TYPES = [
  'Task',
  'Choice',
  'Task',
  'Task',
  'Choice',
  'Choice',
  'Task',
  'Task',
  'Task',
  'Choice',
  'Task',
  'Task',
  'Pass',
  'Task',
  'Choice',
  'Succeed',
];
