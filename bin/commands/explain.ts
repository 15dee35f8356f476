import { writeFile } from 'node:fs/promises';
import { explainRowsOf } from '#app/explain.ts';
import { readPackageDir } from '#app/package-dir.ts';
import { PRODUCTION_ALIAS } from '#contracts';
import { explainHttp } from '#handlers/explain.ts';
import { intFlag, parseCli, runCommand, UsageError } from './cli.ts';
import { NO_METRICS, readStdin, runOnBody, singlePackageCache } from './package-runner.ts';

interface ExplainedRow {
  score: number;
  anomaly: boolean;
  baseValue: number;
  raw: number;
  summary: string;
  ranked: Array<{ feature: string; value: number; contribution: number }>;
}

export const EXPLAIN_USAGE = `Usage: vigil explain --model dir [options] < body.json

Prints each row's TreeSHAP contributions (positive = pushes towards anomaly) for a body
like the API's: {"rows": [{"cpu": 95, ...}]}.

Options:
  --model <dir>             model package directory (required)
  --svg <out.svg>           also write the waterfall chart of one row
  --row <i>                 which row --svg draws, 0-based (default: 0)
  --json                    print the API's JSON response instead of a table
  --data-dir <dir>          accepted like every command (explain reads no twin state)
  -h, --help                this text`;

/** `vigil explain …` (options in EXPLAIN_USAGE). */
export async function explainCommand(argv: string[]): Promise<number> {
  return runCommand(EXPLAIN_USAGE, argv, async () => {
    const { values } = parseCli(argv, {
      model: { type: 'string' },
      svg: { type: 'string' },
      row: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (!values.model) throw new UsageError('--model <dir> is required');
    const row = intFlag(values.row, 'row', 0, 9_999) ?? 0;
    if (values.row !== undefined && !values.svg)
      throw new UsageError('--row chooses the row --svg draws: pass --svg too');
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
      if (row >= parsed.results.length) {
        throw new UsageError(`--row ${row} is out of range: the body has ${parsed.results.length} rows`);
      }
      const svg = await runOnBody(core, pkg.manifest.name, 'explain', body, {
        format: 'svg',
        row: String(row),
      });
      await writeFile(values.svg, svg.body);
      process.stderr.write(`wrote ${values.svg} (row ${row})\n`);
    }
    return 0;
  });
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
