import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

/**
 * Builds the console (web/src → one ES module, one stylesheet, index.html) and the
 * `vigil/edge` bundle with the esbuild the project already uses for Lambda. Nothing is
 * fetched at run time: uPlot and the edge entry are bundled in.
 */

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * onnxruntime-web is reached only through `loadModel`'s dynamic import, which the edge entry
 * never calls: left external it is tree-shaken away with its caller instead of bundled.
 */
const ORT_EXTERNAL = ['#core/onnx/ort.ts', 'onnxruntime-web'];

/** The console's CSP lives in contracts: CDK and the twin send the same one. */
export { CONSOLE_CSP } from '../lambdas/contracts.ts';

/** The edge entry, minified ESM for browsers and workers, and its gzipped size. */
export async function bundleEdge(): Promise<{ code: string; bytes: number; gzipBytes: number }> {
  const r = await esbuild.build({
    entryPoints: [path.join(ROOT, 'lambdas/core/edge.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    external: ORT_EXTERNAL,
    legalComments: 'none',
  });
  const code = r.outputFiles[0].text;
  return { code, bytes: Buffer.byteLength(code), gzipBytes: gzipSync(code, { level: 9 }).length };
}

const consoleOptions = (outDir: string): esbuild.BuildOptions => ({
  entryPoints: [path.join(ROOT, 'web/src/main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  outfile: path.join(outDir, 'app.js'),
  external: ORT_EXTERNAL,
  legalComments: 'none',
  logLevel: 'silent',
  loader: { '.css': 'css' },
});
const ROBOTS = 'User-agent: *\nDisallow: /\n';

/** Builds the console into `outDir` (created); returns it. */
export async function buildConsole(outDir = path.join(ROOT, 'web/dist')): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await esbuild.build(consoleOptions(outDir));
  await copyFile(path.join(ROOT, 'web/src/index.html'), path.join(outDir, 'index.html'));
  await writeFile(path.join(outDir, 'robots.txt'), ROBOTS);
  return outDir;
}

/** The same build, synchronously: CDK bundles assets inside a (synchronous) construct constructor. */
export function buildConsoleSync(outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  esbuild.buildSync(consoleOptions(outDir));
  copyFileSync(path.join(ROOT, 'web/src/index.html'), path.join(outDir, 'index.html'));
  writeFileSync(path.join(outDir, 'robots.txt'), ROBOTS);
  return outDir;
}
