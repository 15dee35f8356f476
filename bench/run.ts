/**
 * `npm run bench`: every benchmark, printed as tables with its baselines and
 * targets side by side. Not a test: numbers vary with the machine.
 * `npm run bench -- scoring shap` runs a subset.
 */
import type { BenchModule, BenchTable } from './types.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const MODULES: Record<string, () => Promise<{ run: BenchModule }>> = {
  scoring: () => import('./scoring.ts'),
  'cold-start': () => import('./cold-start.ts'),
  shap: () => import('./shap.ts'),
  drift: () => import('./drift.ts'),
  'drift-calibration': () => import('./drift-calibration.ts'),
  middleware: () => import('./middleware.ts'),
  byo: () => import('./byo.ts'),
  'twin-load': () => import('./twin-load.ts'),
  retrain: () => import('./retrain.ts'),
  capture: () => import('./capture.ts'),
  'drift-scale': () => import('./drift-scale.ts'),
  edge: () => import('./edge.ts'),
  release: () => import('./release.ts'),
};

function print(t: BenchTable): void {
  const cells = [t.columns.map(String), ...t.rows.map((r) => r.map(String))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  process.stdout.write(`\n### ${t.title}\n\n`);
  process.stdout.write(`${line(cells[0])}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const r of cells.slice(1)) process.stdout.write(`${line(r)}\n`);
  for (const n of t.notes ?? []) process.stdout.write(`\n${n}\n`);
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(MODULES);
process.stdout.write(`Vigil bench — node ${process.version}, ${new Date().toISOString()}\n`);
for (const name of names) {
  const load = MODULES[name];
  if (!load) {
    process.stderr.write(`unknown bench '${name}' (have: ${Object.keys(MODULES).join(', ')})\n`);
    process.exitCode = 2;
    continue;
  }
  const tables = await (await load()).run();
  for (const t of tables) print(t);
}
