import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsCli } from '../../bin/commands/models-cli.ts';
import { startTwin, type Twin } from '../../local/twin.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below.
type Json = any;

/** ROC AUC by brute force over every (anomaly, normal) pair, ties counting half: no ranking code. */
function pairwiseAuc(scores: number[], y: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** Rows of the default model's features: ordinary load, and a few that are plainly not. */
function rows(): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let i = 0; i < 16; i++) {
    out.push({
      cpu: 30 + i,
      memory: 50 + (i % 5),
      network: 400 + 5 * i,
      disk_io: 90 + i,
      latency: 25 + (i % 4),
    });
  }
  for (let i = 0; i < 4; i++) {
    out.push({ cpu: 95 + i, memory: 97, network: 30 + i, disk_io: 420 + 10 * i, latency: 150 + 5 * i });
  }
  return out;
}

describe('feedback labels and the quality report on the local twin over HTTP', () => {
  let twin: Twin;
  let dir: string;
  const call = (method: string, p: string, key: string | undefined, body?: unknown) =>
    fetch(`${twin.url}${p}`, {
      method,
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  const label = (body: unknown, key = twin.scoreApiKey) => call('POST', '/v1/feedback', key, body);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-feedback-'));
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0, captureSampleRate: 1 });
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('labels scored rows, is idempotent, keeps a changed label in the history, and reports quality that matches a hand count', async () => {
    const scored = (await (
      await call('POST', '/v1/models/default/score', twin.scoreApiKey, { rows: rows() })
    ).json()) as Json;
    const results = scored.results as { score: number; anomaly: boolean }[];
    expect(results.filter((r) => r.anomaly).length).toBeGreaterThan(0);
    expect(results.filter((r) => !r.anomaly).length).toBeGreaterThan(0);

    // A person's labels: the truth is "the last four rows are anomalies", except that row 3 (an
    // ordinary-looking row) is also reported as a real incident — the model cannot be perfect here.
    const truth = results.map((_, i) => (i >= 16 || i === 3 ? 1 : 0));
    for (let i = 0; i < results.length; i++) {
      const res = await label({
        requestId: scored.requestId,
        index: i,
        label: truth[i] ? 'anomaly' : 'normal',
      });
      expect(res.status).toBe(201);
      const body = (await res.json()) as Json;
      expect(body).toMatchObject({
        outcome: 'created',
        model: 'default',
        version: scored.version,
        index: i,
        capture: 'captured',
        revision: 1,
        history: [],
      });
    }

    // The same label twice is one label.
    const again = await label({ requestId: scored.requestId, index: 0, label: 'normal' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ outcome: 'unchanged', revision: 1 });

    // A changed label is a change, the previous one kept; row 5 becomes an anomaly.
    const changed = await label({ requestId: scored.requestId, index: 5, label: 'anomaly' });
    expect(changed.status).toBe(200);
    const c = (await changed.json()) as Json;
    expect(c).toMatchObject({ outcome: 'changed', previous: 'normal', label: 'anomaly', revision: 2 });
    expect(c.history).toEqual([expect.objectContaining({ label: 'normal' })]);
    truth[5] = 1;

    // Independent truth: confusion counts by hand from the served verdicts, AUC over all pairs.
    let tp = 0;
    let fp = 0;
    let fn = 0;
    results.forEach((r, i) => {
      if (r.anomaly && truth[i]) tp++;
      else if (r.anomaly) fp++;
      else if (truth[i]) fn++;
    });
    const q = (await (
      await call('GET', '/v1/models/default/quality?window=1h', twin.scoreApiKey)
    ).json()) as Json;
    expect(q).toMatchObject({ model: 'default', window: '1h', labels: 20, captured: 20 });
    expect(q.versions).toHaveLength(1);
    const v = q.versions[0];
    expect(v).toMatchObject({ version: scored.version, labels: 20, anomalies: 6, captured: 20 });
    expect(v.confusion).toEqual({ tp, fp, fn, tn: 20 - tp - fp - fn });
    expect(v.precision).toBeCloseTo(tp / (tp + fp), 12);
    expect(v.recall).toBeCloseTo(tp / (tp + fn), 12);
    expect(v.rocAuc).toBeCloseTo(
      pairwiseAuc(
        results.map((r) => r.score),
        truth,
      ),
      12,
    );
    expect(v.averagePrecision).toBeGreaterThan(0);
    expect(v.averagePrecision).toBeLessThanOrEqual(1);
  });

  it('labels a prediction sampling did not capture when the request names the model, and says so', async () => {
    const unknownRequest = { requestId: 'not-a-captured-request-1', label: 'anomaly' };
    const refused = await label(unknownRequest);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Json).error).toMatchObject({
      code: 'InvalidBody',
      details: { field: 'model' },
    });

    const ok = await label({ ...unknownRequest, model: 'default', version: 1 });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({
      outcome: 'created',
      capture: 'not-captured',
      model: 'default',
      version: 1,
    });

    expect((await label({ ...unknownRequest, requestId: 'other-1', model: 'no-such-model' })).status).toBe(
      404,
    );
    expect(
      (await label({ ...unknownRequest, requestId: 'other-2', model: 'default', version: 99 })).status,
    ).toBe(404);

    // Counted, without a score to rank.
    const q = (await (await call('GET', '/v1/models/default/quality?window=1h', twin.apiKey)).json()) as Json;
    const v1 = q.versions.find((v: Json) => v.version === 1);
    expect(v1.labels - v1.captured).toBe(1);
  });

  it('refuses a label that contradicts its capture (409), and malformed bodies and queries (400)', async () => {
    const scored = (await (
      await call('POST', '/v1/models/default/score', twin.scoreApiKey, { rows: rows().slice(0, 1) })
    ).json()) as Json;
    const wrongModel = await label({ requestId: scored.requestId, label: 'normal', model: 'other' });
    expect(wrongModel.status).toBe(409);

    for (const body of [
      '{"requestId": "r", "label": "anomaly"',
      {},
      { requestId: 'r', label: 'maybe' },
      { requestId: 'r', label: 'anomaly', index: -1 },
      { requestId: 'r', label: 'anomaly', index: 1.5 },
      { requestId: 'r/../x', label: 'anomaly' },
      { requestId: 'r', label: 'anomaly', extra: true },
      { requestId: 'r', label: 'anomaly', model: 'Bad Name' },
      { requestId: 'r', label: 'anomaly', model: 'default', version: 0 },
    ]) {
      const res = await label(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as Json).error.code).toMatch(/^(InvalidBody|MalformedJson)$/);
    }
    for (const w of ['7', '0d', '91d', '1w', '-1h']) {
      const res = await call('GET', `/v1/models/default/quality?window=${w}`, twin.scoreApiKey);
      expect(res.status, w).toBe(400);
    }
    expect((await call('GET', '/v1/models/default/quality?since=1h', twin.scoreApiKey)).status).toBe(400);
    expect((await call('GET', '/v1/models/nope/quality', twin.scoreApiKey)).status).toBe(404);
  });

  it('checks the key before the body: no key 401, a wrong key 403 even with a malformed body', async () => {
    expect((await label({ requestId: 'r', label: 'anomaly' }, '')).status).toBe(401);
    const wrong = await label('{not json', 'vgl_not-a-real-key');
    expect(wrong.status).toBe(403);
    expect((await call('GET', '/v1/models/default/quality', 'vgl_not-a-real-key')).status).toBe(403);
  });

  it('`vigil feedback` and `vigil models quality` drive the same API', async () => {
    const scored = (await (
      await call('POST', '/v1/models/default/score', twin.scoreApiKey, { rows: rows().slice(16, 18) })
    ).json()) as Json;
    const vigil = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await modelsCli([...argv, '--data-dir', dir], {
        env: { VIGIL_URL: twin.url.replace('localhost', '127.0.0.1') },
        out: (t) => {
          stdout += t;
        },
        err: (t) => {
          stderr += t;
        },
      });
      return { code, stdout, stderr };
    };
    let r = await vigil('feedback', scored.requestId, '--label', 'anomaly', '--index', '1');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`Labelled default v${scored.version} ${scored.requestId}#1 anomaly (captured)\n`);
    r = await vigil('feedback', scored.requestId, '--label', 'normal', '--index', '1');
    expect(r.stdout).toMatch(/^Changed the label of .*: anomaly -> normal/);
    r = await vigil('feedback', scored.requestId, '--label', 'sure');
    expect(r.code).toBe(2);
    r = await vigil('quality', 'default', '--window', '1h');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^VERSION\s+LABELS\s+ANOMALIES\s+CAPTURED\s+PRECISION\s+RECALL\s+ROC_AUC\s+AVG_PRECISION/,
    );
    r = await vigil('quality', 'default', '--window', 'forever');
    expect(r.code).toBe(1);
  });
});
