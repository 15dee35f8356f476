/**
 * User-facing explanations (DESIGN.md §4): TreeSHAP values of the model's raw
 * output, re-signed so that a positive contribution always means "pushes this
 * row towards anomaly".
 *
 * The sign convention, exactly:
 *  - TreeSHAP explains the raw ensemble output f(x) (for Vigil's isolation
 *    forest: the mean path length E[h(x)]). `rawContributions` are those φ
 *    unchanged, and `baseValue + Σ rawContributions = raw` (local accuracy,
 *    exact up to float rounding).
 *  - `sign` = +1 when a higher raw output is more anomalous, −1 when a lower
 *    one is (isolation forest: a shorter path = easier to isolate = more
 *    anomalous). `contributions[f] = sign · rawContributions[f]`, so
 *    `raw = baseValue + sign · Σ contributions`.
 *  - The score (e.g. s = 2^(−E[h]/c(ψ))) is a monotone transform of the raw
 *    output and is reported as is; it is not decomposed, because Shapley
 *    values are only additive in the space they were computed in.
 */
import { VigilError } from '#core/errors.ts';
import { goesTrue, type TreeEnsemble } from '#core/trees.ts';
import { expectedValue, treeShap } from './treeshap.ts';

export interface ExplainOptions {
  /** True when a larger raw output means more anomalous; false for an isolation forest's mean path length. */
  readonly rawHigherIsAnomalous: boolean;
  /** Maps the raw output to the user-facing score (reported, not decomposed). */
  readonly score?: (raw: number) => number;
  /** How many features the one-line summary names. @default 3 */
  readonly summaryFeatures?: number;
  /** Decimal places in the summary. @default 2 */
  readonly digits?: number;
}

export interface RankedContribution {
  readonly feature: string;
  /** The row's input value for this feature. */
  readonly value: number;
  /** Signed so that positive = pushes towards anomaly. */
  readonly contribution: number;
  /** The TreeSHAP value in raw-output space. */
  readonly rawContribution: number;
}

export interface Explanation {
  /** Raw model output f(x) (isolation forest: mean path length). */
  readonly raw: number;
  /** `opts.score(raw)` when a score function was given. */
  readonly score?: number;
  /** E[f] over the covers (training or reference rows), in raw space. */
  readonly baseValue: number;
  /** Whether a higher raw output is more anomalous; decides `sign`. */
  readonly rawHigherIsAnomalous: boolean;
  /** +1 or −1: `contributions = sign · rawContributions`. */
  readonly sign: 1 | -1;
  /** By feature name; positive = pushes towards anomaly. */
  readonly contributions: Record<string, number>;
  /** By feature name, unflipped: `baseValue + Σ rawContributions = raw`. */
  readonly rawContributions: Record<string, number>;
  /** All features, by |contribution| descending (ties keep column order). */
  readonly ranked: readonly RankedContribution[];
  /** e.g. "network: +0.31 towards anomaly; memory: +0.12; cpu: −0.02". */
  readonly summary: string;
}

const MINUS = '\u2212';

/**
 * Formats a signed number for people: `+0.31`, `−0.02` (a real minus sign),
 * `0` for exactly zero, and two significant digits for magnitudes that would
 * round to zero at `digits` places (e.g. `+0.0042`).
 */
export function formatSigned(v: number, digits = 2): string {
  if (v === 0 || Number.isNaN(v)) return Number.isNaN(v) ? 'NaN' : '0';
  const a = Math.abs(v);
  const body = a < 0.5 * 10 ** -digits ? a.toPrecision(2) : a.toFixed(digits);
  return (v < 0 ? MINUS : '+') + body;
}

/**
 * The one-line summary: the top `n` features with non-zero contribution,
 * the first annotated with its direction.
 */
export function summarize(ranked: readonly RankedContribution[], n = 3, digits = 2): string {
  const top = ranked.filter((r) => r.contribution !== 0).slice(0, n);
  if (top.length === 0) return 'no feature moves this row away from the base value';
  return top
    .map((r, i) => {
      const s = `${r.feature}: ${formatSigned(r.contribution, digits)}`;
      if (i > 0) return s;
      return `${s} ${r.contribution > 0 ? 'towards anomaly' : 'towards normal'}`;
    })
    .join('; ');
}

function rawOutput(t: TreeEnsemble, x: ArrayLike<number>): number {
  let s = 0;
  for (let r = 0; r < t.roots.length; r++) {
    let n = t.roots[r];
    while (t.trueChild[n] >= 0) n = goesTrue(t, n, x[t.feature[n]]) ? t.trueChild[n] : t.falseChild[n];
    s += t.value[n];
  }
  return (t.aggregate === 'AVERAGE' ? s / t.roots.length : s) + t.base;
}

function checkNames(t: TreeEnsemble, featureNames: readonly string[]): void {
  if (featureNames.length !== t.nFeatures) {
    throw new VigilError(
      'InvalidModel',
      `the model reads ${t.nFeatures} features but ${featureNames.length} feature names were given`,
    );
  }
  if (new Set(featureNames).size !== featureNames.length) {
    throw new VigilError('InvalidModel', 'feature names must be unique');
  }
}

/**
 * Explains one row (values in `featureNames` order).
 *
 * @throws UnsupportedModelError for MIN/MAX ensembles or missing covers (see `withCovers`)
 * @example
 * const e = explainRow(forest, ['cpu', 'memory', 'network'], [95, 85, 500], {
 *   rawHigherIsAnomalous: false,
 *   score: (raw) => isolationScore(raw, 256),
 * });
 * e.summary; // "network: +0.31 towards anomaly; memory: +0.12; cpu: −0.02"
 */
export function explainRow(
  t: TreeEnsemble,
  featureNames: readonly string[],
  row: ArrayLike<number>,
  opts: ExplainOptions,
): Explanation {
  checkNames(t, featureNames);
  return build(t, featureNames, row, opts, treeShap(t, row));
}

/** Explains many rows of the same model; see `explainRow`. */
export function explainRows(
  t: TreeEnsemble,
  featureNames: readonly string[],
  rows: ReadonlyArray<ArrayLike<number>>,
  opts: ExplainOptions,
): Explanation[] {
  checkNames(t, featureNames);
  const phi = new Float64Array(t.nFeatures);
  return rows.map((row) => build(t, featureNames, row, opts, treeShap(t, row, phi)));
}

function build(
  t: TreeEnsemble,
  featureNames: readonly string[],
  row: ArrayLike<number>,
  opts: ExplainOptions,
  phi: Float64Array,
): Explanation {
  const sign: 1 | -1 = opts.rawHigherIsAnomalous ? 1 : -1;
  const raw = rawOutput(t, row);
  // Null-prototype records: a feature called `__proto__` stays an ordinary key.
  const contributions: Record<string, number> = Object.create(null);
  const rawContributions: Record<string, number> = Object.create(null);
  const items: RankedContribution[] = featureNames.map((feature, i) => {
    // `+ 0` turns −0 into 0 so a feature that never splits reads as exactly 0 either way.
    const contribution = sign * phi[i] + 0;
    contributions[feature] = contribution;
    rawContributions[feature] = phi[i];
    return { feature, value: row[i], contribution, rawContribution: phi[i] };
  });
  const ranked = items
    .map((r, i) => ({ r, i }))
    .sort((a, b) => Math.abs(b.r.contribution) - Math.abs(a.r.contribution) || a.i - b.i)
    .map(({ r }) => r);
  return {
    raw,
    ...(opts.score ? { score: opts.score(raw) } : {}),
    baseValue: expectedValue(t),
    rawHigherIsAnomalous: opts.rawHigherIsAnomalous,
    sign,
    contributions,
    rawContributions,
    ranked,
    summary: summarize(ranked, opts.summaryFeatures ?? 3, opts.digits ?? 2),
  };
}
