import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { registerPackage } from '#app/models.ts';
import { parseNumericCsv } from '#core/csv.ts';
import { importModel } from '#core/model/import.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { createOrtModel } from '#core/onnx/ort.ts';
import { loadModel } from '#core/scoring.ts';
import { withCovers } from '#core/shap/covers.ts';
import { treeShap } from '#core/shap/treeshap.ts';
import { ensureTables, startDynalite } from '../local/dynalite.ts';
import type { BenchModule, BenchTable } from './types.ts';
import { fmt, median, percentile } from './util.ts';

/**
 * Brought scikit-learn models (test/fixtures/byo): what registering and first serving
 * each family costs, and the folded isolation forest beside onnxruntime-web running
 * the unfolded skl2onnx graph (2,710 nodes) on the same rows in the same process.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, 'test/fixtures/byo');
const FEATURES = ['cpu', 'memory', 'network', 'disk_io', 'connections', 'error_rate'];
const FAMILIES: Array<[string, { threshold?: number }]> = [
  ['a_dtr', { threshold: 110 }],
  ['d_gbr', { threshold: 110 }],
  ['e_hgbr', { threshold: 110 }],
  ['f_iforest', {}],
  ['g_gbc', {}],
];
const REPS = 3;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const ms = (t0: number) => performance.now() - t0;
const spread = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;

async function costs(data: ReturnType<typeof parseNumericCsv>): Promise<Array<Array<string | number>>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-byo-bench-'));
  const db = await startDynalite();
  try {
    await ensureTables(db.endpoint, ['bench-registry']);
    const deps = {
      registry: new DynamoRegistry({ client: documentClient(db.endpoint), tableName: 'bench-registry' }),
      store: new FsArtifactStore({ root: path.join(dir, 'artifacts') }),
    };
    const rows: Array<Array<string | number>> = [];
    for (const [fixture, opts] of FAMILIES) {
      const onnx = new Uint8Array(readFileSync(path.join(DIR, fixture, 'model.onnx')));
      const reg: number[] = [];
      const first: number[] = [];
      const session: number[] = [];
      let pkg: ModelPackage | undefined;
      for (let i = 0; i < REPS; i++) {
        let t0 = performance.now();
        pkg = await importModel({
          name: fixture.replace('_', '-'),
          // Fresh bytes each round, so every registration parses as the first would.
          onnx: Uint8Array.from(onnx),
          reference: data,
          features: FEATURES,
          createdAt: new Date().toISOString(),
          dataSha256: 'bench',
          ...opts,
        });
        await registerPackage(deps, pkg, { actor: 'bench' });
        reg.push(ms(t0));
        // A fresh copy of the bytes, as a new process reads them from the store: nothing parsed yet.
        const fresh = { manifest: pkg.manifest, onnx: Uint8Array.from(pkg.onnx) };
        t0 = performance.now();
        await loadModel(fresh);
        first.push(ms(t0));
        t0 = performance.now();
        await createOrtModel(onnx, fixture === 'g_gbc' ? { expose: ['proba_output'] } : {});
        session.push(ms(t0));
      }
      rows.push([
        fixture,
        (pkg as ModelPackage).manifest.params.family as string,
        spread(reg),
        spread(first),
        spread(session),
      ]);
    }
    return rows;
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Per-row µs of `fn` over a batch, `n` repetitions. */
async function perRow(fn: () => unknown, rows: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1000 / rows);
  }
  return out;
}

async function isolationForest(data: ReturnType<typeof parseNumericCsv>): Promise<BenchTable> {
  const onnx = new Uint8Array(readFileSync(path.join(DIR, 'f_iforest', 'model.onnx')));
  const pkg = await importModel({
    name: 'f-iforest',
    onnx,
    reference: data,
    features: FEATURES,
    createdAt: 'x',
    dataSha256: 'x',
  });
  const folded = await loadModel(pkg);
  const ort = await loadModel(pkg, { engine: 'onnx' });
  const t = folded.parsed?.ensemble;
  if (!t || folded.engine.name !== 'fast' || ort.engine.name !== 'onnx')
    throw new Error('bench: engines not as expected');
  const n = 1000;
  const cols = FEATURES.map((f) => data.data[data.columns.indexOf(f)]);
  const x = new Float32Array(n * FEATURES.length);
  for (let r = 0; r < n; r++)
    for (let k = 0; k < FEATURES.length; k++) x[r * FEATURES.length + k] = cols[k][r];
  const rowsOf = Array.from({ length: 100 }, (_, r) => x.subarray(r * 6, (r + 1) * 6));
  const explainable = folded.parsed?.coverSource === 'model' ? t : withCovers(t, { columns: cols });
  const phi = new Float64Array(6);
  const shap = () => {
    for (const row of rowsOf) treeShap(explainable, row, phi);
  };
  const loadBefore = load();
  // Alternate the two engines so drifting machine load hits both alike; a ratio per round.
  const rounds = 9;
  const fastScore: number[] = [];
  const ortScore: number[] = [];
  const fastOne: number[] = [];
  const ortOne: number[] = [];
  const shapRow: number[] = [];
  for (let i = 0; i < rounds; i++) {
    fastScore.push(median(await perRow(() => folded.engine.score(x, n), n, 5)));
    ortScore.push(median(await perRow(() => ort.engine.score(x, n), n, 5)));
    fastOne.push(percentile(await perRow(() => folded.engine.score(x.subarray(0, 6), 1), 1, 200), 50));
    ortOne.push(percentile(await perRow(() => ort.engine.score(x.subarray(0, 6), 1), 1, 200), 50));
    shapRow.push(median(await perRow(shap, 100, 3)));
  }
  const ratio = (a: number[], b: number[]) => a.map((v, i) => v / b[i]);
  const explainFast = fastScore.map((s, i) => s + shapRow[i]);
  const explainOrt = ortScore.map((s, i) => s + shapRow[i]);
  return {
    title:
      'Folded isolation forest (fast path) vs onnxruntime-web on the unfolded skl2onnx graph — median (min–max) of 9 alternating rounds',
    columns: ['measure', 'folded fast path µs/row', 'onnxruntime-web µs/row', 'ratio onnxruntime / folded'],
    rows: [
      ['score, batch of 1000', spread(fastScore), spread(ortScore), spread(ratio(ortScore, fastScore))],
      ['score, 1 row (p50)', spread(fastOne), spread(ortOne), spread(ratio(ortOne, fastOne))],
      [
        'explain, batch of 100 (score + TreeSHAP)',
        spread(explainFast),
        spread(explainOrt),
        spread(ratio(explainOrt, explainFast)),
      ],
    ],
    notes: [
      `machine load (1/5/15 min): before ${loadBefore}, after ${load()}`,
      'onnxruntime-web cannot explain: its explain row pairs its scoring with the same TreeSHAP walk over the folded trees.',
    ],
  };
}

export const run: BenchModule = async () => {
  const data = parseNumericCsv(readFileSync(path.join(DIR, 'data.csv'), 'utf8'));
  const loadBefore = load();
  const cost: BenchTable = {
    title: `Brought models (skl2onnx fixtures): cost per family, ms — median (min–max) of ${REPS}`,
    columns: [
      'fixture',
      'family',
      'registration (import + register)',
      'first-request load (parse + fold)',
      'onnxruntime-web session create',
    ],
    rows: await costs(data),
    notes: [`machine load (1/5/15 min): before ${loadBefore}, after ${load()}`],
  };
  return [cost, await isolationForest(data)];
};
