import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPackageDir } from '#app/package-dir.ts';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { averagePathLength, isolationScore } from '#core/forest/isolation.ts';
import { parseOnnx } from '#core/onnx/parse.ts';
import { explainRow } from '#core/shap/explain.ts';
import { startTwin, type Twin } from '../../local/twin.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below.
type Json = any;
const readJson = (res: Response): Promise<Json> => res.json();

const NORMAL = { cpu: 35, memory: 55, network: 420, disk_io: 95, latency: 28 };
const WEIRD = { cpu: 97, memory: 98, network: 40, disk_io: 400, latency: 150 };

describe('local twin over HTTP', () => {
  let twin: Twin;
  let dir: string;
  const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${twin.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.apiKey, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (p: string) => fetch(`${twin.url}${p}`, { headers: { 'x-api-key': twin.apiKey } });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-'));
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves /health without a key', async () => {
    const res = await fetch(`${twin.url}/health`);
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ status: 'ok' });
  });

  it('scores rows with the default model registered as production v1', async () => {
    const res = await post('/v1/models/default/score', { rows: [NORMAL, WEIRD] });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body.model).toBe('default');
    expect(body.version).toBe(1);
    expect(body.results).toHaveLength(2);
    expect(body.results[0].anomaly).toBe(false);
    expect(body.results[1].anomaly).toBe(true);
    expect(body.results[1].score).toBeGreaterThan(body.threshold);
    expect(typeof body.requestId).toBe('string');
  });

  it('returns the same score as scoring the package directly', async () => {
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../models/default'));
    const t = parseOnnx(pkg.onnx).ensemble;
    const x = Float32Array.from(pkg.manifest.features.map((f) => WEIRD[f as keyof typeof WEIRD]));
    const raw = new TreeScorer(t).predictRaw(x, 1)[0];
    // The graph stores −1/c(ψ) as a float32 constant; the served score uses exactly that.
    const expected = 2 ** (raw * Math.fround(-1 / averagePathLength(256)));
    const body = await readJson(await post('/v1/models/default/score', { rows: [WEIRD] }));
    expect(body.results[0].score).toBeCloseTo(expected, 12);
    // ...which is the Liu et al. score 2^(−E[h]/c(ψ)) up to that float32 rounding.
    expect(body.results[0].score).toBeCloseTo(isolationScore(raw, 256), 7);
  });

  it('explains rows with contributions equal to the core TreeSHAP', async () => {
    const res = await post('/v1/models/default/explain', { rows: [WEIRD] });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    const pkg = await readPackageDir(path.resolve(import.meta.dirname, '../../models/default'));
    const t = parseOnnx(pkg.onnx).ensemble;
    const row = pkg.manifest.features.map((f) => Math.fround(WEIRD[f as keyof typeof WEIRD]));
    const core = explainRow(t, pkg.manifest.features, row, { rawHigherIsAnomalous: false });
    const r = body.results[0];
    for (const f of pkg.manifest.features) expect(r.contributions[f]).toBeCloseTo(core.contributions[f], 12);
    const sum = Object.values(r.rawContributions as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(r.baseValue + sum).toBeCloseTo(r.raw, 9);
    expect(r.summary).toMatch(/towards anomaly/);
  });

  it('returns an SVG waterfall with ?format=svg', async () => {
    const res = await post('/v1/models/default/explain?format=svg', { rows: [WEIRD] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    const svg = await res.text();
    expect(svg.startsWith('<svg')).toBe(true);
    for (const f of ['cpu', 'memory', 'network', 'disk_io', 'latency']) expect(svg).toContain(f);
  });

  it('lists models and versions', async () => {
    const models = await readJson(await get('/v1/models'));
    expect(models.models.map((m: { name: string }) => m.name)).toContain('default');
    const versions = await readJson(await get('/v1/models/default/versions'));
    expect(JSON.stringify(versions)).toContain('Approved');
  });

  describe('bad input gets a clear 4xx, never a 500', () => {
    const cases: Array<[string, unknown, number, string, RegExp]> = [
      ['malformed JSON', '{"rows": [', 400, 'MalformedJson', /not valid JSON/],
      ['no body', '', 400, 'InvalidBody', /body is required/],
      ['rows not an array', { rows: 5 }, 400, 'InvalidBody', /rows/],
      ['unknown top-level field', { rows: [NORMAL], extra: 1 }, 400, 'InvalidBody', /extra|Unrecognized/i],
      ['empty batch', { rows: [] }, 400, 'EmptyBatch', /at least one row/],
      ['too many rows', { rows: Array(1001).fill(NORMAL) }, 413, 'BatchTooLarge', /limit is 1000/],
      [
        'missing feature',
        { rows: [NORMAL, { cpu: 1 }] },
        400,
        'InvalidFeature',
        /row 1: missing feature 'memory'/,
      ],
      ['unknown feature', { rows: [{ ...NORMAL, gpu: 1 }] }, 400, 'InvalidFeature', /unknown feature 'gpu'/],
      ['string value', { rows: [{ ...NORMAL, cpu: '95' }] }, 400, 'InvalidFeature', /'cpu' must be a number/],
      ['null value', { rows: [{ ...NORMAL, cpu: null }] }, 400, 'InvalidFeature', /got null/],
      [
        'value beyond float32',
        { rows: [{ ...NORMAL, cpu: 1e300 }] },
        400,
        'InvalidFeature',
        /too large for the model's float32 input/,
      ],
      ['row not an object', { rows: [[1, 2, 3]] }, 400, 'InvalidFeature', /row 0 must be an object/],
    ];
    for (const [name, body, status, code, message] of cases) {
      it(`${name} → ${status} ${code}`, async () => {
        const res = await post('/v1/models/default/score', body);
        expect(res.status).toBe(status);
        const json = await readJson(res);
        expect(json.error.code).toBe(code);
        expect(json.error.message).toMatch(message);
        expect(JSON.stringify(json)).not.toMatch(/at .*\.ts:\d+/);
      });
    }

    it('NaN and Infinity literals are malformed JSON', async () => {
      for (const lit of ['NaN', 'Infinity', '-Infinity']) {
        const res = await post('/v1/models/default/score', `{"rows":[{"cpu":${lit}}]}`);
        expect(res.status).toBe(400);
      }
    });

    it('unknown model → 404 ModelNotFound', async () => {
      const res = await post('/v1/models/nope/score', { rows: [NORMAL] });
      expect(res.status).toBe(404);
      expect((await readJson(res)).error.code).toBe('ModelNotFound');
    });

    it('unknown version → 404 VersionNotFound', async () => {
      const res = await post('/v1/models/default/score?version=42', { rows: [NORMAL] });
      expect(res.status).toBe(404);
      expect((await readJson(res)).error.code).toBe('VersionNotFound');
    });

    it('a version that is not Approved is not served on request (403); the approved one is', async () => {
      const { registerPackage } = await import('#app/models.ts');
      const { readPackageDir: read } = await import('#app/package-dir.ts');
      const { registry, store } = await import('#runtime/root.ts');
      const rt = { registry: registry(), store: store() };
      const pkg = await read(path.resolve(import.meta.dirname, '../../models/default'));
      // force: the same bytes as version 1 would otherwise answer with version 1 itself.
      const pending = await registerPackage({ registry: rt.registry, store: rt.store }, pkg, {
        actor: 'e2e',
        force: true,
      });
      const res = await post(`/v1/models/default/score?version=${pending.version}`, { rows: [NORMAL] });
      expect(res.status).toBe(403);
      expect((await readJson(res)).error.message).toMatch(/not approved/);
      const ok = await post('/v1/models/default/score?version=1', { rows: [NORMAL] });
      expect(ok.status).toBe(200);
    });

    it('bad version parameter → 400 (digits only: no hex, exponent, sign or blank)', async () => {
      for (const v of ['abc', '0x1', '1e0', '-1', '0', '', ' 1', '1.0']) {
        const res = await post(`/v1/models/default/score?version=${encodeURIComponent(v)}`, {
          rows: [NORMAL],
        });
        expect(res.status, `version=${JSON.stringify(v)}`).toBe(400);
      }
    });

    it('bad explain row parameter → 400', async () => {
      for (const r of ['', 'x', '1', '-1', '0x0']) {
        const res = await post(`/v1/models/default/explain?format=svg&row=${encodeURIComponent(r)}`, {
          rows: [WEIRD],
        });
        expect(res.status, `row=${JSON.stringify(r)}`).toBe(400);
      }
    });

    it('prototype keys in a row are unknown features, not prototype writes', async () => {
      for (const body of [
        `{"rows":[{"__proto__":{"cpu":1},"cpu":35,"memory":55,"network":420,"disk_io":95,"latency":28}]}`,
        `{"rows":[{"constructor":1,"cpu":35,"memory":55,"network":420,"disk_io":95,"latency":28}]}`,
      ]) {
        const res = await post('/v1/models/default/score', body);
        expect(res.status).toBe(400);
        expect((await readJson(res)).error.code).toBe('InvalidFeature');
      }
    });

    it('echoes a huge unknown key only in part, so the error stays small', async () => {
      const key = 'k'.repeat(200_000);
      const res = await post('/v1/models/default/score', `{"rows":[{"${key}":1}]}`);
      expect(res.status).toBe(400);
      expect((await res.text()).length).toBeLessThan(2_000);
      const top = await post('/v1/models/default/score', `{"rows":[],"${key}":1}`);
      expect(top.status).toBe(400);
      expect((await top.text()).length).toBeLessThan(4_000);
    });

    it('explain refuses more than 100 rows with 413', async () => {
      const res = await post('/v1/models/default/explain', { rows: Array(101).fill(NORMAL) });
      expect(res.status).toBe(413);
    });

    it('missing API key → 401, wrong key → 403', async () => {
      const none = await fetch(`${twin.url}/v1/models/default/score`, { method: 'POST', body: '{}' });
      expect(none.status).toBe(401);
      const wrong = await post('/v1/models/default/score', { rows: [NORMAL] }, { 'x-api-key': 'vgl_wrong' });
      expect(wrong.status).toBe(403);
    });

    it('unknown route → 404, wrong method → 405', async () => {
      expect((await get('/v2/nothing')).status).toBe(404);
      expect((await get('/v1/models/default/score')).status).toBe(405);
    });
  });
});
