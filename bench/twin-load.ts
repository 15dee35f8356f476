import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { readPackageDir } from '#app/package-dir.ts';
import { ENV } from '#contracts';
import { loadModel } from '#core/scoring.ts';
import type { BenchModule, BenchTable } from './types.ts';
import { fmt, median, timeCalls } from './util.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Seconds of load per case: bounded, 12 cases. */
const SECONDS = Number(process.env.VIGIL_BENCH_LOAD_SECONDS ?? 3);

const ROW = { cpu: 35, memory: 55, network: 420, disk_io: 95, latency: 28 };

/** A real `vigil serve` in its own process (the captures setting is read once per process). */
async function startServe(
  captureRate: number,
  capturePath: 'dynamodb' | 'firehose' = 'dynamodb',
): Promise<{ url: string; key: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/vigil.mjs'),
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dir,
      '--drift-every',
      '0',
    ],
    {
      env: {
        ...process.env,
        [ENV.CAPTURE_SAMPLE_RATE]: String(captureRate),
        [ENV.CAPTURE_PATH]: capturePath,
        PORT: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`vigil serve did not start: ${out}`)), 60_000);
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace('localhost', '127.0.0.1'));
      }
    });
    child.once('exit', (code) => reject(new Error(`vigil serve exited ${code}: ${out}`)));
  });
  child.stderr?.resume();
  const key = (await readFile(path.join(dir, 'local-api-key'), 'utf8')).trim();
  return {
    url,
    key,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Requests that errored or timed out (a request still in flight when time is up is not counted). */
  failed: number;
}

function load(url: string, key: string, rows: number, connections: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/v1/models/default/score`,
        method: 'POST',
        connections,
        duration: SECONDS,
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ rows: Array.from({ length: rows }, () => ROW) }),
      },
      (err, r) => {
        if (err) reject(err);
        else
          resolve({
            rps: r.requests.average,
            p50: r.latency.p50,
            p99: r.latency.p99,
            non2xx: r.non2xx,
            failed: r.errors + r.timeouts,
          });
      },
    );
  });
}

/**
 * Load on the twin over loopback with autocannon: 1-row and 100-row score requests at 10 and 50
 * connections, captures off and on (every row; DynamoDB and the Firehose stand-in), beside the in-process scorer's own rate for the
 * same batch, so the cost of everything around the model (HTTP, auth, validation, captures) shows.
 */
export const run: BenchModule = async () => {
  const before = loadavg();
  const pkg = await readPackageDir(path.join(ROOT, 'models/default'));
  const model = await loadModel(pkg, { engine: 'fast' });
  const nf = pkg.manifest.features.length;
  const inProcess: Record<number, number> = {};
  for (const n of [1, 100]) {
    const x = new Float32Array(n * nf).fill(50);
    const us = median(await timeCalls(() => model.engine.score(x, n), 2000, 200));
    inProcess[n] = 1e6 / us;
  }
  const rows: Array<Array<string | number>> = [];
  const cases = [
    { label: 'off', rate: 0, path: 'dynamodb' },
    { label: 'on (DynamoDB)', rate: 1, path: 'dynamodb' },
    { label: 'on (Firehose stand-in)', rate: 1, path: 'firehose' },
  ] as const;
  for (const k of cases) {
    const serve = await startServe(k.rate, k.path);
    try {
      for (const n of [1, 100]) {
        for (const c of [10, 50]) {
          const r = await load(serve.url, serve.key, n, c);
          rows.push([
            k.label,
            n,
            c,
            fmt(r.rps),
            fmt(r.p50),
            fmt(r.p99),
            r.non2xx,
            r.failed,
            fmt(inProcess[n]),
            `${fmt((r.rps / inProcess[n]) * 100)} %`,
          ]);
        }
      }
    } finally {
      await serve.stop();
    }
  }
  const after = loadavg();
  const table: BenchTable = {
    title: `Twin under load (autocannon, loopback, ${SECONDS} s per case)`,
    columns: [
      'captures',
      'rows/req',
      'connections',
      'req/s',
      'p50 ms',
      'p99 ms',
      'non-2xx',
      'errors/timeouts',
      'in-process req/s',
      'twin / in-process',
    ],
    rows,
    notes: [
      `machine load (1/5/15 min): before ${before.map((v) => v.toFixed(2)).join(' ')}, after ${after.map((v) => v.toFixed(2)).join(' ')}`,
      'A case with 0 req/s finished no request within its time (every request still in flight).',
      'in-process = the fast-path engine alone on the same batch (median of 2000 calls), so the ratio is the share of time left for the model once HTTP, auth, validation and captures are paid.',
    ],
  };
  return [table];
};
