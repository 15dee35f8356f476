import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodePackage } from '#core/model/package-io.ts';
import type { ParsedModel } from '#core/onnx/parse.ts';
import { fastEngine, type LoadedModel, loadModel, rowsToMatrix, scoreMatrix } from '#core/scoring.ts';
import { bundleEdge } from '../web/build.ts';
import { GOAL_COLUMNS, type Goal, goalRow, pairedRatio, rounds, summarize, withSpread } from './judge.ts';
import type { BenchModule } from './types.ts';

/**
 * `vigil/edge`: its size (minified + gzipped, deterministic) against the 30 KB budget, and its
 * speed on the default model against the server's own path in the same process (1,000 rows per
 * pass, validation included on both sides). The edge keeps the plain TypeScript kernel (the
 * reference), so the goal compares it with the server's path on that same kernel; the server's
 * served path (the wasm kernel) is printed beside it.
 */

const BUDGET_BYTES = 30 * 1024;
const ROWS = 1000;

export const run: BenchModule = async () => {
  const bundle = await bundleEdge();
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-edge-'));
  try {
    const file = path.join(dir, 'edge.mjs');
    await writeFile(file, bundle.code);
    const edge = await import(pathToFileURL(file).href);
    const root = path.resolve(import.meta.dirname, '..');
    const pkg = decodePackage({
      manifest: readFileSync(path.join(root, 'models/default/manifest.json')),
      onnx: new Uint8Array(readFileSync(path.join(root, 'models/default/model.onnx'))),
    });
    const ref = pkg.manifest.reference.features;
    const rows = Array.from({ length: ROWS }, (_, i) =>
      Object.fromEntries(pkg.manifest.features.map((f) => [f, ref[f].sample[i % ref[f].sample.length]])),
    );
    const served = await loadModel(pkg);
    const server = { ...served, engine: fastEngine(served.parsed as ParsedModel, pkg.manifest) };
    const model = await edge.loadPackage(pkg);
    const pass = (m: LoadedModel) => async () => {
      const x = rowsToMatrix(rows, pkg.manifest.features, ROWS, m.inputType);
      await scoreMatrix(m, x, ROWS);
    };
    const serverPass = pass(server);
    const servedPass = pass(served);
    const timed = async (fn: () => Promise<unknown>) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) await fn();
      return Number(process.hrtime.bigint() - t0) / 1e3 / (20 * ROWS);
    };
    await timed(serverPass);
    await timed(servedPass);
    await timed(() => model.score(rows));
    const s = await rounds(7, () => timed(serverPass));
    const w = await rounds(7, () => timed(servedPass));
    const e = await rounds(7, () => timed(() => model.score(rows)));
    const size: Goal = { kind: 'ratio', text: '≤ 1.00 × the 30 KB gz budget', target: 1, better: 'lower' };
    const speed: Goal = {
      kind: 'ratio',
      text: '≥ 0.8 × the server path’s speed (plain kernel)',
      target: 0.8,
      better: 'higher',
    };
    const load = Math.max(s.load, w.load, e.load);
    return [
      {
        title: 'vigil/edge: size and speed (default model)',
        columns: GOAL_COLUMNS,
        rows: [
          goalRow(size, summarize([bundle.gzipBytes / BUDGET_BYTES]), load),
          goalRow(speed, pairedRatio(s, e), load, '×'),
        ],
        notes: [
          `bundle: ${(bundle.bytes / 1024).toFixed(1)} KB minified, ${(bundle.gzipBytes / 1024).toFixed(1)} KB gzipped (esbuild, gzip -9); onnxruntime-web not included (optional import).`,
          `µs/row, ${ROWS} rows per pass: server (plain kernel) ${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)}), edge ${e.median.toFixed(2)} (${e.min.toFixed(2)}–${e.max.toFixed(2)}); server as served (wasm kernel) ${w.median.toFixed(2)} (${w.min.toFixed(2)}–${w.max.toFixed(2)}), edge at ${withSpread(pairedRatio(w, e))}× its speed.`,
        ],
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
