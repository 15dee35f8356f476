import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { explainRowsOf } from '#app/explain.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { PRODUCTION_ALIAS } from '#contracts';
import { explainHttp } from '#handlers/explain.ts';
import { NO_METRICS, readStdin, runOnBody, singlePackageCache } from './package-runner.ts';

interface ExplainedRow {
  score: number;
  anomaly: boolean;
  baseValue: number;
  raw: number;
  summary: string;
  ranked: Array<{ feature: string; value: number; contribution: number }>;
}

/**
 * `vigil explain --model dir [--svg out.svg] [--json] < rows.json`: prints a
 * table of contributions per row (positive = towards anomaly); `--svg` also
 * writes the waterfall chart of the first row.
 */
export async function explainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      svg: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.model) {
    process.stderr.write('usage: vigil explain --model dir [--svg out.svg] [--json] < rows.json\n');
    return 2;
  }
  const pkg = await readPackageDir(values.model);
  const core = explainHttp(
    explainRowsOf({ models: singlePackageCache(pkg), maxRows: 10_000, metrics: NO_METRICS }),
    { alias: PRODUCTION_ALIAS },
  );
  const body = await readStdin();
  const res = await runOnBody(core, pkg.manifest.name, 'explain', body);
  if (res.status !== 200) {
    process.stderr.write(`${res.body}\n`);
    return 1;
  }
  const parsed = JSON.parse(res.body) as { results: ExplainedRow[] };
  if (values.json) process.stdout.write(`${JSON.stringify(parsed, null, 2)}\n`);
  else process.stdout.write(formatTable(parsed.results));
  if (values.svg) {
    const svg = await runOnBody(core, pkg.manifest.name, 'explain', body, { format: 'svg' });
    await writeFile(values.svg, svg.body);
    process.stderr.write(`wrote ${values.svg}\n`);
  }
  return 0;
}

/** A plain-text table per row: feature, value, contribution. */
export function formatTable(results: readonly ExplainedRow[]): string {
  const lines: string[] = [];
  results.forEach((r, i) => {
    lines.push(
      `row ${i}: score ${r.score.toFixed(4)} ${r.anomaly ? 'ANOMALY' : 'normal'} (raw ${r.raw.toFixed(4)}, base ${r.baseValue.toFixed(4)})`,
    );
    lines.push(`  ${'feature'.padEnd(16)} ${'value'.padStart(12)} ${'contribution'.padStart(13)}`);
    for (const c of r.ranked) {
      const sign = c.contribution > 0 ? '+' : '';
      lines.push(
        `  ${c.feature.padEnd(16)} ${String(c.value).padStart(12)} ${`${sign}${c.contribution.toFixed(4)}`.padStart(13)}`,
      );
    }
    lines.push(`  ${r.summary}`, '');
  });
  return `${lines.join('\n')}\n`;
}
