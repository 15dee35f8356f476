import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { type Dataset, LABEL_COLUMN } from './dataset.ts';

/** Physical types a feature may have (BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY and INT96 hold no plain number). */
const NUMERIC = new Set(['DOUBLE', 'FLOAT', 'INT32', 'INT64', 'BOOLEAN']);

/** The four bytes a Parquet file starts and ends with. */
const MAGIC = 'PAR1';

/** Whether `bytes` are a Parquet file (magic at both ends), whatever the name says. */
export function isParquet(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const text = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  return text(0) === MAGIC && text(bytes.length - 4) === MAGIC;
}

/**
 * Parses a dataset Parquet file: the same table a dataset CSV holds, one flat column per
 * feature (any numeric physical type: DOUBLE, FLOAT, INT32, INT64; BOOLEAN as 1/0), nulls as
 * missing (NaN), and an optional `__label` column (0, 1 or null). Columns are read column-wise
 * (row group by row group) straight into typed arrays, never as row objects.
 * @throws Error naming the column (and row) for a nested or non-numeric column, or a bad label
 */
export async function datasetFromParquet(bytes: Uint8Array): Promise<Dataset> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  const rows = Number(metadata.num_rows);
  const top = parquetSchema(metadata).children;
  const names = top.map((c) => c.element.name);
  for (const c of top) {
    const { name, type } = c.element;
    if (c.children.length > 0)
      throw new Error(`Parquet column '${name}' is nested; a dataset has flat numeric columns`);
    if (!type || !NUMERIC.has(type))
      throw new Error(`Parquet column '${name}' is ${type ?? 'untyped'}; a dataset value is a number`);
  }
  const data = names.map(() => new Float64Array(rows).fill(Number.NaN));
  // Recorded, not thrown: an exception inside onChunk escapes the reader's promise.
  let bad: string | undefined;
  await parquetRead({
    file,
    metadata,
    onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
      const col = data[names.indexOf(columnName)];
      if (!col || bad) return;
      for (let i = 0; i < rowEnd - rowStart; i++) {
        const v = (columnData as ArrayLike<unknown>)[i];
        const at = rowStart + i;
        if (typeof v === 'number') col[at] = v;
        else if (typeof v === 'bigint') col[at] = Number(v);
        else if (typeof v === 'boolean') col[at] = v ? 1 : 0;
        else if (v !== null && v !== undefined) {
          // A numeric physical type with a logical one on top (a TIMESTAMP decodes as a Date).
          bad = `Parquet column '${columnName}', row ${at + 1}: a dataset value is a number, got ${String(v).slice(0, 40)}`;
          return;
        }
      }
    },
  });
  if (bad) throw new Error(bad);
  const li = names.indexOf(LABEL_COLUMN);
  let labels: Float64Array | undefined;
  if (li >= 0) {
    labels = data[li];
    labels.forEach((v, r) => {
      if (!(Number.isNaN(v) || v === 0 || v === 1))
        throw new Error(`Parquet column '${LABEL_COLUMN}', row ${r + 1}: a label is 0, 1 or null, got ${v}`);
    });
  }
  return {
    features: names.filter((n) => n !== LABEL_COLUMN),
    columns: data.filter((_, i) => i !== li),
    labels,
    rows,
  };
}

/**
 * Serialises a dataset as Parquet (Snappy, one DOUBLE column per feature, labels in `__label`),
 * the format PrepareData writes for the later steps: written from the typed arrays as they are,
 * so neither size nor memory is bound by one JS string (a CSV of 10M × 10 is larger than V8's
 * longest string). A missing value stays NaN (an IEEE value, not a null): the steps read NaN
 * as missing either way, and the columns need no boxing on the way out.
 */
export function datasetToParquet(ds: Dataset): Uint8Array {
  const columnData = ds.features.map((name, i) => ({
    name,
    data: ds.columns[i] as Float64Array,
    type: 'DOUBLE' as const,
  }));
  if (ds.labels) columnData.push({ name: LABEL_COLUMN, data: ds.labels, type: 'DOUBLE' });
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}
