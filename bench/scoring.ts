import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { registerPackage, setAlias } from '#app/models.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { ENV } from '#contracts';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage } from '#core/model/build.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { type EngineName, loadModel } from '#core/scoring.ts';
import { ensureTables, startDynalite } from '../local/dynalite.ts';
import type { BenchModule, BenchTable } from './types.ts';
import { fmt, median, percentile, timeCalls } from './util.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The 10-feature / 100-tree forest of the issue, trained on seeded normals. */
export function tenFeatureModel(): ModelPackage {
  const rng = new Rng(10);
  const cols = Array.from({ length: 10 }, () => Float64Array.from({ length: 5000 }, () => rng.normal()));
  const forest = trainIsolationForest(cols, { nEstimators: 100, maxSamples: 256, seed: 3 });
  return buildIsolationForestPackage({
    name: 'bench10',
    features: cols.map((_, i) => `f${i}`),
    columns: cols,
    forest,
    contamination: 'auto',
    createdAt: '2026-01-01T00:00:00.000Z',
    dataSha256: '0'.repeat(64),
  });
}

function sampleRows(pkg: ModelPackage, n: number): Float32Array {
  const f = pkg.manifest.features;
  const ref = pkg.manifest.reference.features;
  const x = new Float32Array(n * f.length);
  const m = ref[f[0]].sample.length;
  for (let r = 0; r < n; r++)
    for (let k = 0; k < f.length; k++) x[r * f.length + k] = ref[f[k]].sample[r % m];
  return x;
}

async function engineRows(name: string, pkg: ModelPackage): Promise<Array<Array<string | number>>> {
  const rows: Array<Array<string | number>> = [];
  for (const engine of ['onnx', 'fast'] as EngineName[]) {
    const model = await loadModel(pkg, { engine });
    const nf = pkg.manifest.features.length;
    const batch = sampleRows(pkg, 1000);
    let i = 0;
    const single = await timeCalls(() => {
      const r = i++ % 1000;
      return model.engine.score(batch.subarray(r * nf, (r + 1) * nf), 1);
    }, 3000);
    const batchTimes = await timeCalls(() => model.engine.score(batch, 1000), 50, 10);
    rows.push([
      name,
      engine === 'fast' ? 'tree fast path' : 'onnxruntime-web (baseline)',
      fmt(percentile(single, 50)),
      fmt(percentile(single, 99)),
      fmt(median(batchTimes) / 1000, 3),
    ]);
  }
  return rows;
}

/**
 * Cold start as Lambda pays it: a fresh `node` process loads the esbuild ESM
 * bundle of the score handler and answers one request (registry lookup in
 * DynamoDB, package read, model load, score). Wall time from spawn to the
 * first result, median of 5, plus the child's RSS after the request.
 */
async function coldStarts(): Promise<Array<Array<string | number>>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cold-'));
  const db = await startDynalite();
  try {
    await build({
      entryPoints: [path.join(ROOT, 'lambdas/handlers/score.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: path.join(dir, 'score.mjs'),
      minify: true,
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'error',
    });
    const event = {
      version: '2.0',
      routeKey: 'POST /v1/models/{model}/score',
      rawPath: '/v1/models/default/score',
      headers: { 'content-type': 'application/json' },
      pathParameters: { model: 'default' },
      body: JSON.stringify({ rows: [{ cpu: 97, memory: 98, network: 40, disk_io: 400, latency: 150 }] }),
      isBase64Encoded: false,
      requestContext: { requestId: 'cold', http: { method: 'POST', path: '/v1/models/default/score' } },
    };
    await writeFile(
      path.join(dir, 'invoke.mjs'),
      `const { handler } = await import('./score.mjs');
const res = await handler(${JSON.stringify(event)}, { awsRequestId: 'cold', getRemainingTimeInMillis: () => 30000 });
// performance.now() counts from the process's time origin (its start), so this is start → result.
const at = performance.now();
process.stdout.write(JSON.stringify({ status: res.statusCode, at, rss: process.memoryUsage().rss }) + '\\n');`,
    );
    await ensureTables(db.endpoint, ['bench-registry']);
    const registry = new DynamoRegistry({ client: documentClient(db.endpoint), tableName: 'bench-registry' });
    const store = new FsArtifactStore({ root: path.join(dir, 'artifacts') });
    const pkg = await readPackageDir(path.join(ROOT, 'models/default'));
    const v = await registerPackage({ registry, store }, pkg, { actor: 'bench' });
    await registry.approve('default', v.version, { actor: 'bench' });
    await setAlias({ registry }, 'default', 'production', v.version, { actor: 'bench' });
    const rows: Array<Array<string | number>> = [];
    for (const engine of ['onnx', 'fast']) {
      const times: number[] = [];
      const inProcess: number[] = [];
      const rss: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const out = await runChild(path.join(dir, 'invoke.mjs'), {
          [ENV.REGISTRY_TABLE]: 'bench-registry',
          [ENV.DYNAMODB_ENDPOINT]: db.endpoint,
          [ENV.ARTIFACT_DIR]: path.join(dir, 'artifacts'),
          [ENV.ENGINE]: engine,
          // In Lambda the wasm files come from the layer; here from node_modules.
          [ENV.ORT_WASM_DIR]: path.join(ROOT, 'node_modules/onnxruntime-web/dist'),
          [ENV.CAPTURE_SAMPLE_RATE]: '0',
          POWERTOOLS_METRICS_DISABLED: 'true',
          POWERTOOLS_LOG_LEVEL: 'ERROR',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        });
        times.push(performance.now() - t0);
        const parsed = JSON.parse(out) as { status: number; at: number; rss: number };
        inProcess.push(parsed.at);
        rss.push(parsed.rss / 2 ** 20);
      }
      rows.push([
        engine === 'fast' ? 'tree fast path' : 'onnxruntime-web (baseline)',
        fmt(median(inProcess)),
        fmt(median(times)),
        fmt(median(rss)),
      ]);
    }
    return rows;
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function runChild(file: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.includes('"status":200')) resolve(last);
      else reject(new Error(`cold start child failed (exit ${code}):\n${out}\n${err}`));
    });
  });
}

export const run: BenchModule = async () => {
  const defaultPkg = await readPackageDir(path.join(ROOT, 'models/default'));
  const speed: BenchTable = {
    title: 'Scoring: onnxruntime-web vs tree fast path (same run, same rows)',
    columns: ['model', 'engine', '1-row p50 µs', '1-row p99 µs', 'batch-1000 µs/row'],
    rows: [
      ...(await engineRows('default (5 feat)', defaultPkg)),
      ...(await engineRows('10 feat × 100 trees', tenFeatureModel())),
    ],
    notes: ['targets (fast path): batch ≤ 3 µs/row, 1-row p99 ≤ 100 µs'],
  };
  const cold: BenchTable = {
    title: 'Cold start: fresh node process → first score through the bundled handler (median of 5)',
    columns: ['engine', 'process start → first result ms', 'spawn → exit (parent wall) ms', 'RSS MiB'],
    rows: await coldStarts(),
    notes: ['target: ≤ 250 ms (fast path); includes DynamoDB registry lookup on loopback dynalite'],
  };
  return [speed, cold];
};
