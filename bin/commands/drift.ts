import { readFile } from 'node:fs/promises';
import { parseNumericCsv } from '#core/csv.ts';
import { type DriftConfig, parseDriftConfig, TEST_NAMES } from '#core/drift/config.ts';
import { type DriftReport, evaluateDrift } from '#core/drift/report.ts';
import { listFlag, parseCli, runCommand, UsageError } from './cli.ts';

export const DRIFT_USAGE = `Usage: vigil drift --reference ref.csv --current cur.csv [options]

Runs the drift tests column by column. Exit 1 when the dataset drifted, 0 when not (or no
verdict), 2 on bad input — so it can gate a CI pipeline.

Options:
  --reference <file.csv>    reference data, e.g. the training set (required)
  --current <file.csv>      data to compare with it (required)
  --features <a,b,c>        columns to test (default: every column of the reference but --label)
  --label <column>          a ground-truth column to leave out of the tests
  --config <drift.json>     thresholds ({ default: {...}, models: {...} } or one settings object)
  --json                    print the full report as JSON instead of a table
  --data-dir <dir>          accepted like every command (drift reads no twin state)
  -h, --help                this text`;

const fmt = (v: unknown): string => {
  if (typeof v !== 'number') return '-';
  if (v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4)) return v.toFixed(4);
  return v.toExponential(2);
};

/** The headline number of each test: its p-value or its distance. */
function headline(t: Record<string, unknown>): unknown {
  if ('pvalue' in t) return t.pvalueAdjusted ?? t.pvalue;
  if ('normalized' in t) return t.normalized;
  return t.value;
}

function table(
  report: Pick<DriftReport, 'features' | 'drift' | 'driftedShare' | 'confidence' | 'status'>,
): string {
  const head = ['feature', 'n', ...TEST_NAMES, 'votes', 'drifted'];
  const lines: string[][] = [head];
  for (const [name, f] of Object.entries(report.features)) {
    const cells = TEST_NAMES.map((t) => {
      const r = f.tests[t];
      if ('skipped' in r) return 'skip';
      return `${fmt(headline(r))}${r.drift ? (r.voting ? '*' : '+') : ''}`;
    });
    const verdict = f.status === 'ok' ? (f.drifted ? 'DRIFT' : 'no') : 'insufficient';
    lines.push([name, String(f.n), ...cells, `${f.votes}/${f.voters.length}`, verdict]);
  }
  const widths = head.map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  const out = lines.map((l) => l.map((cell, c) => cell.padEnd(widths[c])).join('  '));
  const verdict =
    report.drift === null
      ? 'insufficient data: no verdict'
      : `dataset drift: ${report.drift ? 'YES' : 'no'} (drifted share ${fmt(report.driftedShare)}, confidence ${fmt(report.confidence)})`;
  return `${out.join('\n')}\n\np-values for ks/anderson/cvm/meanShift, distances otherwise; * = voting test says drift, + = reported test says drift\n${verdict}\n`;
}

/**
 * `vigil drift --reference ref.csv --current cur.csv [--json] [--features a,b] [--config drift.json]`:
 * runs the drift tests column by column and prints a table (or the JSON
 * report). Exit code 1 when the dataset drifted, 0 when not (or no verdict),
 * 2 on bad input — so it can gate a CI pipeline.
 */
export async function driftCommand(argv: string[]): Promise<number> {
  return runCommand(DRIFT_USAGE, argv, async () => {
    const { values } = parseCli(argv, {
      reference: { type: 'string' },
      current: { type: 'string' },
      json: { type: 'boolean', default: false },
      features: { type: 'string' },
      label: { type: 'string' },
      config: { type: 'string' },
    });
    if (!values.reference) throw new UsageError('--reference <file.csv> is required');
    if (!values.current) throw new UsageError('--current <file.csv> is required');
    const select = listFlag(values.features, 'features');
    if (values.label && select?.includes(values.label)) {
      throw new UsageError(`'${values.label}' cannot be both --label and one of --features`);
    }
    let report: ReturnType<typeof evaluateDrift>;
    try {
      const config: DriftConfig = parseDriftConfig(
        values.config ? JSON.parse(await readFile(values.config, 'utf8')) : {},
      );
      const refText = await readFile(values.reference, 'utf8');
      const header = parseNumericCsv(refText.split(/\r?\n/, 1)[0] ?? '').columns;
      if (values.label && !header.includes(values.label)) {
        throw new UsageError(`--label '${values.label}' is not a column (columns: ${header.join(', ')})`);
      }
      const features = select ?? header.filter((c) => c !== values.label);
      const ref = parseNumericCsv(refText, features);
      const cur = parseNumericCsv(await readFile(values.current, 'utf8'), features);
      const col = (t: typeof ref, f: string) => t.data[t.columns.indexOf(f)];
      report = evaluateDrift({
        reference: Object.fromEntries(features.map((f) => [f, col(ref, f)])),
        current: Object.fromEntries(features.map((f) => [f, col(cur, f)])),
        features,
        config,
        rows: cur.rows,
      });
    } catch (e) {
      if (e instanceof UsageError) throw e;
      process.stderr.write(`vigil drift: ${(e as Error).message}\n`);
      return 2;
    }
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
    return report.drift ? 1 : 0;
  });
}
