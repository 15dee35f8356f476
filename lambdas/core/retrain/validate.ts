import type { Dataset } from './dataset.ts';

/** Thresholds of ValidateData (per environment, from `RetrainSettings.validation`). */
export interface ValidationThresholds {
  /** Fewest rows worth training on. */
  readonly minRows: number;
  /** Largest share of missing (NaN) values tolerated in any one feature, in [0, 1]. */
  readonly maxMissingShare: number;
  /** Largest share of rows that repeat an earlier row exactly, in [0, 1]. */
  readonly maxDuplicateShare: number;
  /** When labels exist: the share of `anomaly` among labelled rows must lie in [min, max]. */
  readonly labelShare: { readonly min: number; readonly max: number };
}

/** One failed check, with the numbers a notification needs to say by how much. */
export type ValidationFailure =
  | {
      readonly check: 'schema';
      readonly expected: readonly string[];
      readonly actual: readonly string[];
      readonly missing: readonly string[];
      readonly unexpected: readonly string[];
    }
  | { readonly check: 'minRows'; readonly rows: number; readonly minRows: number }
  | {
      readonly check: 'missingShare';
      readonly feature: string;
      readonly missing: number;
      readonly share: number;
      readonly max: number;
    }
  | { readonly check: 'constantColumn'; readonly feature: string; readonly value: number | null }
  | {
      readonly check: 'labelShare';
      readonly labelled: number;
      readonly anomalies: number;
      readonly share: number;
      readonly min: number;
      readonly max: number;
    }
  | {
      readonly check: 'duplicateRows';
      readonly duplicates: number;
      readonly share: number;
      readonly max: number;
    };

/** Per-feature numbers measured by validation (kept in the step output for the record). */
export interface ValidationStats {
  readonly rows: number;
  readonly missingShare: Readonly<Record<string, number>>;
  readonly duplicateRows: number;
  /** Rows with a label, and how many of them say anomaly (absent without labels). */
  readonly labels?: { readonly labelled: number; readonly anomalies: number };
}

export interface ValidationResult {
  readonly ok: boolean;
  readonly failures: readonly ValidationFailure[];
  readonly stats: ValidationStats;
}

/**
 * ValidateData (DESIGN.md §8): runs every check and reports every failure, not
 * just the first, so one notification says all that is wrong with the data.
 *
 * - schema: the dataset's features equal `expectedFeatures` (the production
 *   manifest's), in order. Order matters: the ONNX graph reads columns by position.
 *   The other checks only run on a matching schema.
 * - minRows: at least `minRows` rows.
 * - missingShare: per feature, NaN count / rows ≤ `maxMissingShare`.
 * - constantColumn: a feature whose non-missing values are all equal (or all
 *   missing) cannot be split on and says the exporter is broken.
 * - labelShare: when any row is labelled, anomalies / labelled ∈ [min, max].
 * - duplicateRows: rows equal to an earlier row (missing equals missing) /
 *   rows ≤ `maxDuplicateShare`: a stuck exporter repeats itself.
 */
export function validateDataset(
  ds: Dataset,
  expectedFeatures: readonly string[],
  t: ValidationThresholds,
): ValidationResult {
  const failures: ValidationFailure[] = [];
  const sameSchema =
    ds.features.length === expectedFeatures.length && ds.features.every((f, i) => f === expectedFeatures[i]);
  const missingShare: Record<string, number> = {};
  let duplicateRows = 0;
  let labels: ValidationStats['labels'];
  if (!sameSchema) {
    failures.push({
      check: 'schema',
      expected: [...expectedFeatures],
      actual: [...ds.features],
      missing: expectedFeatures.filter((f) => !ds.features.includes(f)),
      unexpected: ds.features.filter((f) => !expectedFeatures.includes(f)),
    });
  }
  if (ds.rows < t.minRows) failures.push({ check: 'minRows', rows: ds.rows, minRows: t.minRows });
  if (sameSchema && ds.rows > 0) {
    ds.features.forEach((feature, k) => {
      const col = ds.columns[k];
      let missing = 0;
      let first: number | null = null;
      let constant = true;
      for (let i = 0; i < ds.rows; i++) {
        const v = col[i];
        if (Number.isNaN(v)) missing++;
        else if (first === null) first = v;
        else if (v !== first) constant = false;
      }
      const share = missing / ds.rows;
      missingShare[feature] = share;
      if (share > t.maxMissingShare) {
        failures.push({ check: 'missingShare', feature, missing, share, max: t.maxMissingShare });
      }
      if (constant) failures.push({ check: 'constantColumn', feature, value: first });
    });
    if (ds.labels) {
      let labelled = 0;
      let anomalies = 0;
      for (let i = 0; i < ds.rows; i++) {
        const l = ds.labels[i];
        if (!Number.isNaN(l)) {
          labelled++;
          if (l === 1) anomalies++;
        }
      }
      labels = { labelled, anomalies };
      if (labelled > 0) {
        const share = anomalies / labelled;
        if (share < t.labelShare.min || share > t.labelShare.max) {
          failures.push({
            check: 'labelShare',
            labelled,
            anomalies,
            share,
            min: t.labelShare.min,
            max: t.labelShare.max,
          });
        }
      }
    }
    duplicateRows = countDuplicateRows(ds);
    const share = duplicateRows / ds.rows;
    if (share > t.maxDuplicateShare) {
      failures.push({ check: 'duplicateRows', duplicates: duplicateRows, share, max: t.maxDuplicateShare });
    }
  }
  return {
    ok: failures.length === 0,
    failures,
    stats: { rows: ds.rows, missingShare, duplicateRows, labels },
  };
}

/** Rows equal to an earlier row over all features (NaN equals NaN). Labels are not part of a row. */
export function countDuplicateRows(ds: Dataset): number {
  const seen = new Set<string>();
  let dup = 0;
  const nf = ds.columns.length;
  const key = new Float64Array(nf);
  for (let i = 0; i < ds.rows; i++) {
    for (let f = 0; f < nf; f++) key[f] = ds.columns[f][i];
    // The bytes of the doubles: exact equality (and every NaN payload the parser writes is the same).
    const k = Buffer.from(key.buffer).toString('latin1');
    if (seen.has(k)) dup++;
    else seen.add(k);
  }
  return dup;
}

/** One line per failure, for notifications ("missingShare: cpu 12.5% missing > 5%"). */
export function describeFailure(f: ValidationFailure): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  switch (f.check) {
    case 'schema':
      return `schema: expected [${f.expected.join(', ')}], got [${f.actual.join(', ')}]`;
    case 'minRows':
      return `minRows: ${f.rows} rows < ${f.minRows}`;
    case 'missingShare':
      return `missingShare: ${f.feature} ${pct(f.share)} missing (${f.missing} rows) > ${pct(f.max)}`;
    case 'constantColumn':
      return `constantColumn: ${f.feature} is constant (${f.value ?? 'all missing'})`;
    case 'labelShare':
      return `labelShare: ${f.anomalies}/${f.labelled} labelled anomalies = ${pct(f.share)}, outside [${pct(f.min)}, ${pct(f.max)}]`;
    case 'duplicateRows':
      return `duplicateRows: ${f.duplicates} duplicate rows = ${pct(f.share)} > ${pct(f.max)}`;
  }
}
