/**
 * Minimal CSV for numeric metric tables: a header row, comma-separated,
 * optional double quotes around fields. Enough for `vigil train` and
 * `vigil drift`; anything non-numeric in a feature column is an error that
 * names the line and column.
 */
export interface NumericTable {
  readonly columns: readonly string[];
  /** Column-major values, one array per column in `columns` order. */
  readonly data: readonly Float64Array[];
  readonly rows: number;
}

const splitLine = (line: string): string[] =>
  line.split(',').map((f) => {
    const t = f.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replaceAll('""', '"') : t;
  });

/**
 * Parses CSV text into numeric columns.
 * @param select columns to keep (default: all)
 * @throws Error naming line and column for a bad value or a missing column
 */
export function parseNumericCsv(text: string, select?: readonly string[]): NumericTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('CSV is empty: a header row is required');
  const header = splitLine(lines[0].replace(/^\uFEFF/, ''));
  const wanted = select ?? header;
  const idx = wanted.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`CSV has no column '${c}' (columns: ${header.join(', ')})`);
    return i;
  });
  const rows = lines.length - 1;
  const data = wanted.map(() => new Float64Array(rows));
  for (let r = 0; r < rows; r++) {
    const fields = splitLine(lines[r + 1]);
    if (fields.length !== header.length) {
      throw new Error(`CSV line ${r + 2}: expected ${header.length} fields, got ${fields.length}`);
    }
    for (let k = 0; k < idx.length; k++) {
      const raw = fields[idx[k]];
      const v = raw === '' ? Number.NaN : Number(raw);
      if (Number.isNaN(v) && raw !== '' && raw.toLowerCase() !== 'nan') {
        throw new Error(`CSV line ${r + 2}, column '${wanted[k]}': '${raw}' is not a number`);
      }
      data[k][r] = v;
    }
  }
  return { columns: [...wanted], data, rows };
}

/** Writes numeric columns as CSV (header + rows). */
export function toCsv(columns: readonly string[], data: ReadonlyArray<ArrayLike<number>>): string {
  const n = data[0]?.length ?? 0;
  const out: string[] = [columns.join(',')];
  for (let r = 0; r < n; r++) out.push(data.map((c) => String(c[r])).join(','));
  return `${out.join('\n')}\n`;
}
