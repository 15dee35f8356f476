import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { LABEL_COLUMN } from '#core/retrain/dataset.ts';
import { datasetFromParquet, datasetToParquet, isParquet } from '#core/retrain/dataset-parquet.ts';

type Columns = Parameters<typeof parquetWriteBuffer>[0]['columnData'];
/** A Parquet file written by hyparquet-writer (another package than the reader under test). */
const parquet = (columnData: Columns, rowGroupSize?: number) =>
  new Uint8Array(parquetWriteBuffer({ columnData, ...(rowGroupSize ? { rowGroupSize } : {}) }));

describe('datasetFromParquet', () => {
  it('reads every numeric physical type into feature columns, nulls as missing', async () => {
    const bytes = parquet([
      { name: 'cpu', data: [1.5, 2.25, null, 4], type: 'DOUBLE', nullable: true },
      { name: 'memory', data: new Float32Array([0.5, 1.5, 2.5, 3.5]), type: 'FLOAT' },
      { name: 'network', data: new Int32Array([10, -20, 30, 40]), type: 'INT32' },
      { name: 'disk_io', data: new BigInt64Array([7n, 8n, 9n, 10n]), type: 'INT64' },
      { name: 'flag', data: [true, false, true, false], type: 'BOOLEAN' },
    ]);
    const ds = await datasetFromParquet(bytes);
    expect(ds.rows).toBe(4);
    expect(ds.features).toEqual(['cpu', 'memory', 'network', 'disk_io', 'flag']);
    expect(ds.labels).toBeUndefined();
    expect(ds.columns.map((c) => Array.from(c))).toEqual([
      [1.5, 2.25, Number.NaN, 4],
      [0.5, 1.5, 2.5, 3.5],
      [10, -20, 30, 40],
      [7, 8, 9, 10],
      [1, 0, 1, 0],
    ]);
  });

  it('keeps row order across row groups, and takes __label as the labels', async () => {
    const n = 2500;
    const x = Float64Array.from({ length: n }, (_, i) => i * 0.5);
    const label = Array.from({ length: n }, (_, i) => (i % 100 === 0 ? 1 : i % 7 === 0 ? null : 0));
    const ds = await datasetFromParquet(
      parquet(
        [
          { name: 'x', data: x, type: 'DOUBLE' },
          { name: LABEL_COLUMN, data: label, type: 'INT32', nullable: true },
        ],
        1000,
      ),
    );
    expect(ds.features).toEqual(['x']);
    expect(ds.rows).toBe(n);
    expect(ds.columns[0][0]).toBe(0);
    expect(ds.columns[0][1999]).toBe(999.5);
    expect(ds.columns[0][2499]).toBe(1249.5);
    expect(ds.labels?.[0]).toBe(1);
    expect(ds.labels?.[7]).toBeNaN();
    expect(ds.labels?.[1000]).toBe(1);
    expect(ds.labels?.[2001]).toBe(0);
  });

  it('refuses a text column by its type, naming it', async () => {
    const bytes = parquet([
      { name: 'cpu', data: [1, 2], type: 'DOUBLE' },
      { name: 'host', data: ['a', 'b'], type: 'STRING' },
    ]);
    await expect(datasetFromParquet(bytes)).rejects.toThrow(
      "Parquet column 'host' is BYTE_ARRAY; a dataset value is a number",
    );
  });

  it('refuses a timestamp column (a number stored, a date meant), naming it and the row', async () => {
    const bytes = parquet([
      { name: 'cpu', data: [1, 2], type: 'DOUBLE' },
      {
        name: 'at',
        data: [new Date('2025-01-01T00:00:00Z'), new Date('2025-01-02T00:00:00Z')],
        type: 'TIMESTAMP',
      },
    ]);
    await expect(datasetFromParquet(bytes)).rejects.toThrow(
      /^Parquet column 'at', row 1: a dataset value is a number, got /,
    );
  });

  it('refuses a label other than 0, 1 or null', async () => {
    const bytes = parquet([
      { name: 'cpu', data: [1, 2, 3], type: 'DOUBLE' },
      { name: LABEL_COLUMN, data: new Int32Array([0, 2, 1]), type: 'INT32' },
    ]);
    await expect(datasetFromParquet(bytes)).rejects.toThrow(
      /'__label', row 2: a label is 0, 1 or null, got 2/,
    );
  });
});

describe('datasetToParquet', () => {
  it('writes what the reader gives back: columns, missing values as NaN, labels', async () => {
    const bytes = datasetToParquet({
      features: ['cpu', 'memory'],
      columns: [Float64Array.from([1.5, Number.NaN, -3]), Float64Array.from([0, 1e-300, 7])],
      labels: Float64Array.from([1, Number.NaN, 0]),
      rows: 3,
    });
    expect(isParquet(bytes)).toBe(true);
    const back = await datasetFromParquet(bytes);
    expect(back.features).toEqual(['cpu', 'memory']);
    expect(back.rows).toBe(3);
    expect(back.columns.map((c) => Array.from(c))).toEqual([
      [1.5, Number.NaN, -3],
      [0, 1e-300, 7],
    ]);
    expect(Array.from(back.labels ?? [])).toEqual([1, Number.NaN, 0]);
  });

  it('writes the same bytes for the same dataset (the lineage sha256 is of these bytes)', () => {
    const ds = { features: ['x'], columns: [Float64Array.from([1, 2, 3])], rows: 3 };
    expect(Buffer.from(datasetToParquet(ds)).equals(Buffer.from(datasetToParquet(ds)))).toBe(true);
  });
});

describe('isParquet', () => {
  it('recognises a Parquet file by its magic bytes at both ends', () => {
    expect(isParquet(parquet([{ name: 'a', data: [1], type: 'DOUBLE' }]))).toBe(true);
  });
  it('does not take a CSV, a truncated file or an empty one for Parquet', () => {
    const whole = parquet([{ name: 'a', data: [1], type: 'DOUBLE' }]);
    expect(isParquet(new TextEncoder().encode('PAR1,b\n1,2\n'))).toBe(false);
    expect(isParquet(whole.subarray(0, whole.length - 1))).toBe(false);
    expect(isParquet(new Uint8Array())).toBe(false);
  });
});
