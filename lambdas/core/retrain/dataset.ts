import { thinToUniform } from '#core/capture/sampling.ts';
import { parseNumericCsv, toCsv } from '#core/csv.ts';
import { predictionKey } from '#core/feedback/labels.ts';

/**
 * A training dataset as retraining passes it between steps (through the artifact store,
 * never in the state payload): named numeric feature columns, column-major, plus an
 * optional label column (1 = anomaly, 0 = normal, NaN = unlabelled).
 */
export interface Dataset {
  readonly features: readonly string[];
  /** One array per feature, in `features` order; NaN marks a missing value. */
  readonly columns: readonly Float64Array[];
  /** Feedback labels aligned with the rows, when any row has one. */
  readonly labels?: Float64Array;
  readonly rows: number;
}

/** Name of the label column in a dataset CSV (a feature may not use it). */
export const LABEL_COLUMN = '__label';

/**
 * Serialises a dataset as CSV (header, one row per line, empty field = missing), the
 * format PrepareData writes and a user may supply. Labels go in `__label` (1/0/empty).
 */
export function datasetToCsv(ds: Dataset): string {
  const names = ds.labels ? [...ds.features, LABEL_COLUMN] : [...ds.features];
  const cols: ArrayLike<number>[] = ds.labels ? [...ds.columns, ds.labels] : [...ds.columns];
  // toCsv writes NaN as "NaN"; the parser reads both "" and "NaN" as missing.
  return toCsv(names, cols);
}

/**
 * Parses a dataset CSV. Every column except `__label` is a feature; a label must be
 * 0, 1 or empty.
 * @throws Error naming the line and column for a bad value
 */
export function datasetFromCsv(csv: string): Dataset {
  const table = parseNumericCsv(csv);
  const li = table.columns.indexOf(LABEL_COLUMN);
  const features = table.columns.filter((c) => c !== LABEL_COLUMN);
  const columns = table.data.filter((_, i) => i !== li);
  let labels: Float64Array | undefined;
  if (li >= 0) {
    labels = table.data[li];
    labels.forEach((v, r) => {
      if (!(Number.isNaN(v) || v === 0 || v === 1)) {
        throw new Error(`CSV line ${r + 2}, column '${LABEL_COLUMN}': a label is 0, 1 or empty, got ${v}`);
      }
    });
  }
  return { features, columns, labels, rows: table.rows };
}

/** The rows at `idx` (in that order) of a dataset. */
export function selectRows(ds: Dataset, idx: ArrayLike<number>): Dataset {
  const pick = (c: Float64Array) => Float64Array.from({ length: idx.length }, (_, i) => c[idx[i]]);
  return {
    features: ds.features,
    columns: ds.columns.map(pick),
    labels: ds.labels ? pick(ds.labels) : undefined,
    rows: idx.length,
  };
}

/** Indices of the rows with no missing feature, in order (the trainer needs finite values). */
export function completeRowIndices(ds: Dataset): Int32Array {
  const keep: number[] = [];
  for (let i = 0; i < ds.rows; i++) {
    if (ds.columns.every((c) => !Number.isNaN(c[i]))) keep.push(i);
  }
  return Int32Array.from(keep);
}

/** What PrepareData needs of a capture record (see `CapturedRow` in core/ports.ts). */
export interface CaptureLike {
  readonly features: Readonly<Record<string, number>>;
  readonly sampleRate?: number;
  /** With `index`, the key feedback labels join on. */
  readonly requestId?: string;
  readonly index?: number;
}

/**
 * Captured rows → a training dataset in `features` order (a feature the capture
 * lacks is missing, NaN), thinned by `thinToUniform` so the capture sampling
 * (anomalies always kept) does not teach the forest that anomalies are common.
 * `random` is a seeded uniform [0, 1) source.
 *
 * `labels` (feedback, 1 = anomaly, 0 = normal, keyed by `predictionKey(requestId, index)`) become the
 * dataset's label column. A labelled row is never thinned out: labels are scarce and given by
 * people, and a handful of rows cannot bias the forest the way sampling every anomaly would.
 */
export function datasetFromCaptures(
  rows: readonly CaptureLike[],
  features: readonly string[],
  random: () => number,
  labels?: ReadonlyMap<string, number>,
): { dataset: Dataset; thinnedOut: number; labelled: number } {
  const labelOf = (r: CaptureLike): number | undefined =>
    labels && r.requestId !== undefined && r.index !== undefined
      ? labels.get(predictionKey(r.requestId, r.index))
      : undefined;
  const unlabelled = new Set(
    thinToUniform(
      rows.filter((r) => labelOf(r) === undefined),
      random,
    ),
  );
  const kept = rows.filter((r) => labelOf(r) !== undefined || unlabelled.has(r));
  const columns = features.map((f) =>
    Float64Array.from(kept, (r) => {
      const v = r.features[f];
      return typeof v === 'number' ? v : Number.NaN;
    }),
  );
  const y = Float64Array.from(kept, (r) => labelOf(r) ?? Number.NaN);
  const labelled = y.reduce((n, v) => (Number.isNaN(v) ? n : n + 1), 0);
  return {
    dataset: { features, columns, rows: kept.length, ...(labelled > 0 ? { labels: y } : {}) },
    thinnedOut: rows.length - kept.length,
    labelled,
  };
}
