import { CAPTURE_COLUMNS } from '#contracts';
import type { CapturedRow } from '#core/ports.ts';

/**
 * A capture as the S3 path stores it: one value per `CAPTURE_COLUMNS` name, plus `model`, which
 * Firehose's dynamic partitioning reads (`model=` in the key) and the Parquet conversion drops
 * (it is a partition key, not a column).
 */
export type CaptureRecord = {
  readonly model: string;
  readonly version: number;
  readonly at: string;
  readonly request_id: string;
  readonly row_index: number;
  readonly features: Readonly<Record<string, number>>;
  readonly score: number;
  readonly anomaly: boolean;
  readonly sample_rate: number;
  readonly shadow: CapturedRow['shadow'] | null;
};

/** `toISOString()`'s own shape: such a timestamp is already normalised. */
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * `at` as `toISOString()` writes it. Parsing and formatting a Date was a quarter of the Firehose
 * producer's per-row cost, and the score path's timestamps already have that shape.
 */
export function normalizedAt(at: string): string {
  return ISO_UTC_MS.test(at) ? at : new Date(at).toISOString();
}

/** A number as `JSON.stringify` writes it (non-finite → `null`). */
const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/**
 * `JSON.stringify(toCaptureRecord(row))`, written directly: the Firehose producer serialises every
 * captured row, and building the intermediate record cost about as much as the JSON itself.
 * Same keys, same order, same text (checked against `JSON.stringify` in the tests).
 */
export function captureRecordJson(row: CapturedRow): string {
  const at = normalizedAt(row.at);
  return (
    `{"model":${JSON.stringify(row.model)},"version":${num(row.version)},"at":${JSON.stringify(at)},` +
    `"request_id":${JSON.stringify(row.requestId)},"row_index":${num(row.index)},` +
    `"features":${JSON.stringify(row.features)},"score":${num(row.score)},"anomaly":${row.anomaly},` +
    `"sample_rate":${num(row.sampleRate ?? 1)},"shadow":${JSON.stringify(row.shadow ?? null)}}`
  );
}

/** The record of a row; `at` normalised to `toISOString()` so `date`/`hour` slice out of it. */
export function toCaptureRecord(row: CapturedRow): CaptureRecord {
  return {
    model: row.model,
    version: row.version,
    at: normalizedAt(row.at),
    request_id: row.requestId,
    row_index: row.index,
    features: row.features,
    score: row.score,
    anomaly: row.anomaly,
    sample_rate: row.sampleRate ?? 1,
    shadow: row.shadow ?? null,
  };
}

/** Reads a record (model from its partition) back as the row it was made from. */
export function fromCaptureRecord(rec: Omit<CaptureRecord, 'model'>, model: string): CapturedRow {
  return {
    model,
    version: Number(rec.version),
    at: rec.at,
    requestId: rec.request_id,
    index: Number(rec.row_index),
    features: { ...rec.features },
    score: rec.score,
    anomaly: rec.anomaly,
    sampleRate: rec.sample_rate ?? 1,
    ...(rec.shadow ? { shadow: { ...rec.shadow, version: Number(rec.shadow.version) } } : {}),
  };
}

/** Column names in `CaptureRecord` order, checked against the shared contract at compile time. */
export const CAPTURE_COLUMN_NAMES: readonly (keyof CaptureRecord)[] = CAPTURE_COLUMNS.map((c) => c.name);
