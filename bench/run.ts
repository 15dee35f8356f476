/**
 * `npm run bench`: every benchmark, printed as tables with its baselines and
 * targets side by side. Not a test: numbers vary with the machine.
 * `npm run bench -- scoring shap` runs a subset.
 */
import os from 'node:os';
import { BUSY_LOAD, GOAL_COLUMNS, loadNow } from './judge.ts';
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

/**
 * A goal table is one whose columns end in the judge's `GOAL_COLUMNS` (some put a case column in
 * front). Every such row is repeated at the end of the run under its module, so one run's verdicts
 * — with the figures, spread and load each was judged at — read as one table.
 */
const isGoalTable = (t: BenchTable) =>
  t.columns.length >= GOAL_COLUMNS.length &&
  GOAL_COLUMNS.every((c, i) => t.columns[t.columns.length - GOAL_COLUMNS.length + i] === c);

function goalSummary(
  rows: readonly { module: string; row: readonly string[]; prefix: string }[],
): BenchTable {
  return {
    title: 'Every goal in this run',
    columns: ['module', ...GOAL_COLUMNS],
    rows: rows.map(({ module, row, prefix }) => {
      const tail = row.slice(row.length - GOAL_COLUMNS.length);
      return [module, prefix ? `${prefix}: ${tail[0]}` : tail[0], ...tail.slice(1)];
    }),
    notes: [
      `Ratio goals are judged at any load; time goals only at a 1-minute load ≤ ${BUSY_LOAD} (else "not judged: busy"). Load now: ${loadNow().toFixed(2)}, ${os.cpus().length} CPUs.`,
    ],
  };
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(MODULES);
process.stdout.write(
  `Vigil bench — node ${process.version}, ${new Date().toISOString()}, ${os.cpus().length} CPUs, 1-minute load ${loadNow().toFixed(2)}\n`,
);
const goals: { module: string; row: readonly string[]; prefix: string }[] = [];
for (const name of names) {
  const load = MODULES[name];
  if (!load) {
    process.stderr.write(`unknown bench '${name}' (have: ${Object.keys(MODULES).join(', ')})\n`);
    process.exitCode = 2;
    continue;
  }
  const tables = await (await load()).run();
  for (const t of tables) {
    print(t);
    if (!isGoalTable(t)) continue;
    const extra = t.columns.length - GOAL_COLUMNS.length;
    for (const r of t.rows)
      goals.push({ module: name, row: r.map(String), prefix: r.slice(0, extra).join(' ') });
  }
}
if (goals.length) print(goalSummary(goals));
