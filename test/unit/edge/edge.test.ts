import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainRowsOf } from '#app/explain.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { decodePackage } from '#core/model/package-io.ts';
import { loadModel, rowsToMatrix, scoreMatrix } from '#core/scoring.ts';
import { bundleEdge } from '../../../web/build.ts';

/**
 * `vigil/edge` as a page gets it: the minified bundle web/build.ts writes, imported from a
 * file, against the server's own path (`loadModel` + `scoreMatrix`, and the explain use
 * case) on the shipped default model and every BYO fixture.
 */

const ROOT = path.resolve(import.meta.dirname, '../../..');
const BYO = path.join(ROOT, 'test/fixtures/byo');
const DIRS = [
  path.join(ROOT, 'models/default'),
  ...readdirSync(BYO, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(BYO, d.name)),
];
const read = (dir: string): ModelPackage =>
  decodePackage({
    manifest: readFileSync(path.join(dir, 'manifest.json')),
    onnx: new Uint8Array(readFileSync(path.join(dir, 'model.onnx'))),
  });

/** Rows from the package's own reference sample, stretched so both verdicts occur. */
function rowsOf(pkg: ModelPackage, n: number): Record<string, number>[] {
  const ref = pkg.manifest.reference.features;
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(
      pkg.manifest.features.map((f, j) => {
        const s = ref[f].sample;
        return [f, s[(i * 7 + j * 13) % s.length] * (0.6 + ((i * 37 + j) % 9) / 10)];
      }),
    ),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: the bundle is imported untyped, as a page would.
let edge: any;
let bundle: Awaited<ReturnType<typeof bundleEdge>>;
let dir: string;

beforeAll(async () => {
  bundle = await bundleEdge();
  dir = await mkdtemp(path.join(tmpdir(), 'vigil-edge-'));
  const file = path.join(dir, 'edge.mjs');
  await writeFile(file, bundle.code);
  edge = await import(pathToFileURL(file).href);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vigil/edge bundle', () => {
  it('fits the size budget: ≤ 30 KB minified and gzipped, with no protobuf runtime or onnxruntime in it', () => {
    process.stdout.write(
      `vigil/edge: ${(bundle.bytes / 1024).toFixed(1)} KB minified, ${(bundle.gzipBytes / 1024).toFixed(1)} KB gzipped\n`,
    );
    expect(bundle.gzipBytes).toBeLessThanOrEqual(30 * 1024);
    // Booleans, not the 66 KB string, so a failure message stays readable.
    expect(/protobufjs|\$protobuf|#core\/onnx\/ort|from\s*["']onnxruntime-web/.test(bundle.code)).toBe(false);
    expect(/from\s*["']node:/.test(bundle.code)).toBe(false);
  });

  it.each(DIRS.map((d) => [path.relative(ROOT, d), d]))(
    'scores %s as the server does (1e-6), from the API JSON form',
    async (_, d) => {
      const pkg = read(d);
      const rows = rowsOf(pkg, 300);
      const server = await loadModel(pkg);
      const x = rowsToMatrix(rows, pkg.manifest.features, rows.length, server.inputType);
      const expected = await scoreMatrix(server, x, rows.length);
      const model = await edge.loadPackage({
        manifest: pkg.manifest,
        onnx: Buffer.from(pkg.onnx).toString('base64'),
      });
      const got = await model.score(rows);
      expect(got).toHaveLength(rows.length);
      const scale = Math.max(1, ...expected.map((e) => Math.abs(e.score)));
      for (let i = 0; i < rows.length; i++) {
        expect(Math.abs(got[i].score - expected[i].score)).toBeLessThanOrEqual(1e-6 * scale);
        expect(got[i].anomaly).toBe(expected[i].anomaly);
      }
      expect(new Set(expected.map((e) => e.anomaly)).size).toBeGreaterThan(0);
    },
  );

  it.each(DIRS.map((d) => [path.relative(ROOT, d), d]))(
    'explains %s as the server does, and its contributions add up to the raw output',
    async (_, d) => {
      const pkg = read(d);
      const rows = rowsOf(pkg, 5);
      const served = { ...(await loadModel(pkg)), name: 'm', version: 1 };
      const server = await explainRowsOf({
        models: { get: async () => served },
        maxRows: 100,
        metrics: { emit: () => undefined },
        // biome-ignore lint/suspicious/noExplicitAny: the cache port's full surface is not needed here
      } as any)({ model: 'm', ref: { alias: 'production' }, rows, requestId: 'r' });
      const model = await edge.loadPackage({
        manifest: readFileSync(path.join(d, 'manifest.json')),
        onnx: pkg.onnx,
      });
      const got = await model.explain(rows);
      for (let i = 0; i < rows.length; i++) {
        const s = server.results[i];
        expect(got[i].raw).toBeCloseTo(s.raw, 9);
        expect(got[i].baseValue).toBeCloseTo(s.baseValue, 9);
        const sum = Object.values(got[i].rawContributions as Record<string, number>).reduce(
          (a, b) => a + b,
          0,
        );
        expect(Math.abs(got[i].baseValue + sum - got[i].raw)).toBeLessThanOrEqual(
          1e-6 * Math.max(1, Math.abs(got[i].raw)),
        );
        for (const f of pkg.manifest.features) {
          expect(got[i].contributions[f]).toBeCloseTo(s.contributions[f], 9);
        }
      }
    },
  );

  it('refuses a package whose model.onnx does not match its sha256', async () => {
    const pkg = read(DIRS[0]);
    const tampered = pkg.onnx.slice();
    tampered[tampered.length - 1] ^= 1;
    await expect(edge.loadPackage({ manifest: pkg.manifest, onnx: tampered })).rejects.toThrow(/sha256/);
  });

  it('names the row and field of a bad row, as the server does', async () => {
    const pkg = read(DIRS[0]);
    const model = await edge.loadPackage({ manifest: pkg.manifest, onnx: pkg.onnx });
    const row = rowsOf(pkg, 1)[0];
    const { [pkg.manifest.features[0]]: _, ...missing } = row;
    await expect(model.score([row, missing])).rejects.toThrow(
      `row 1: missing feature '${pkg.manifest.features[0]}'`,
    );
  });
});
