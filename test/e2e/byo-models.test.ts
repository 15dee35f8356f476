import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNumericCsv } from '#core/csv.ts';
import { modelsCli } from '../../bin/commands/models-cli.ts';
import { startTwin, type Twin } from '../../local/twin.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below.
type Json = any;

/**
 * The "done when": each skl2onnx fixture family registers through
 * `vigil models import`, then scores and explains over HTTP on the twin exactly as
 * scikit-learn and the brute-force Shapley references say.
 */
const DIR = path.resolve(import.meta.dirname, '../fixtures/byo');
const FEATURES = ['cpu', 'memory', 'network', 'disk_io', 'connections', 'error_rate'];
const data = parseNumericCsv(readFileSync(path.join(DIR, 'data.csv'), 'utf8'));
const sk = parseNumericCsv(readFileSync(path.join(DIR, 'sklearn_outputs.csv'), 'utf8'));
const shapRef = JSON.parse(readFileSync(path.join(DIR, 'shap_reference.json'), 'utf8'));
const ROWS = 100;
const body = (n: number) =>
  Array.from({ length: n }, (_, r) =>
    Object.fromEntries(FEATURES.map((f) => [f, data.data[data.columns.indexOf(f)][r]])),
  );

const FAMILIES = [
  {
    pkg: 'a_dtr',
    ref: 'a_dtr',
    args: ['--threshold', '110'],
    explains: 'prediction',
    covers: 'reference',
    shap: 'reference',
  },
  {
    pkg: 'd_gbr',
    ref: 'd_gbr',
    args: ['--contamination', '0.05'],
    explains: 'prediction',
    covers: 'reference',
    shap: 'reference',
  },
  {
    pkg: 'e_hgbr',
    ref: 'e_hgbr_on_float32_X',
    args: ['--threshold', '110'],
    explains: 'prediction',
    covers: 'reference',
  },
  { pkg: 'f_iforest', ref: 'f_iforest', args: [], explains: 'path-length', covers: 'model', shap: 'sklearn' },
  { pkg: 'g_gbc', ref: 'g_gbc', args: [], explains: 'margin', covers: 'reference' },
] as const;

describe('brought scikit-learn models on the twin', () => {
  let twin: Twin;
  let dir: string;
  const post = (p: string, b: unknown) =>
    fetch(`${twin.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': twin.apiKey },
      body: JSON.stringify(b),
    });

  /** `vigil models …` against this twin, as a local operator runs it (its URL and admin key file). */
  const vigil = async (...argv: string[]) => {
    let printed = '';
    const code = await modelsCli([...argv, '--data-dir', dir], {
      env: { VIGIL_URL: twin.url.replace('localhost', '127.0.0.1') },
      out: (t) => {
        printed += t;
      },
      err: (t) => {
        printed += t;
      },
    });
    return { code, printed };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-byo-'));
    twin = await startTwin({ port: 0, dataDir: dir, inMemory: true, driftEveryMs: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const f of FAMILIES) {
    it(`${f.pkg}: imports, scores as scikit-learn and explains exactly over HTTP`, async () => {
      const name = f.pkg.replace('_', '-');
      const { code, printed } = await vigil(
        'import',
        '--onnx',
        path.join(DIR, f.pkg, 'model.onnx'),
        '--reference',
        path.join(DIR, 'data.csv'),
        '--features',
        FEATURES.join(','),
        '--name',
        name,
        ...f.args,
      );
      expect(code, printed).toBe(0);
      expect((await vigil('approve', name, '1', '--reason', 'fixture')).code).toBe(0);
      expect((await vigil('promote', name, '--version', '1')).code).toBe(0);

      const scored = await post(`/v1/models/${name}/score`, { rows: body(ROWS) });
      expect(scored.status).toBe(200);
      const s: Json = await scored.json();
      const want = sk.data[sk.columns.indexOf(f.ref)];
      const rel = f.pkg === 'g_gbc' ? 1e-6 : 1e-5;
      s.results.forEach((r: Json, i: number) => {
        expect(Math.abs(r.score - want[i]), `row ${i}`).toBeLessThanOrEqual(rel * Math.abs(want[i]));
        expect(r.anomaly).toBe(r.score >= s.threshold);
      });

      const explained = await post(`/v1/models/${name}/explain`, { rows: body(5) });
      expect(explained.status).toBe(200);
      const e: Json = await explained.json();
      expect(e.explains).toBe(f.explains);
      expect(e.coverSource).toBe(f.covers);
      e.results.forEach((r: Json, i: number) => {
        const sum = Object.values(r.rawContributions as Record<string, number>).reduce((a, b) => a + b, 0);
        expect(Math.abs(r.baseValue + sum - r.raw), `row ${i} local accuracy`).toBeLessThanOrEqual(
          1e-6 * Math.max(1, Math.abs(r.raw)),
        );
        if ('shap' in f) {
          const ref = shapRef.models[f.pkg][f.shap][i];
          const scale = Math.max(
            ...Object.values(ref.rawContributions as Record<string, number>).map(Math.abs),
          );
          expect(Math.abs(r.baseValue - ref.baseValue)).toBeLessThanOrEqual(1e-6 * Math.abs(ref.baseValue));
          for (const feat of FEATURES) {
            expect(
              Math.abs(r.rawContributions[feat] - ref.rawContributions[feat]),
              `${feat}`,
            ).toBeLessThanOrEqual(1e-6 * scale);
          }
        }
      });
    }, 60_000);
  }

  it('refuses an import whose features do not match the graph input width, saying what to pass', async () => {
    const { code, printed } = await vigil(
      'import',
      '--onnx',
      path.join(DIR, 'a_dtr', 'model.onnx'),
      '--reference',
      path.join(DIR, 'data.csv'),
    );
    expect(code).toBe(1);
    // No --features: the CSV has 8 columns, the graph reads 6.
    expect(printed).toMatch(/the graph reads 6 columns but 8 features were given.*pass --features/);
  });
});
