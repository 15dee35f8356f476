import type { Evaluation } from './evaluate.ts';

/** Gate thresholds (per environment, from `RetrainSettings.gate`). */
export interface GateThresholds {
  /** The candidate's quality may fall at most this far below production's. */
  readonly aucTolerance: number;
  /** Lowest acceptable candidate quality when production has none to compare with. */
  readonly minAuc: number;
  /** Refuse a candidate whose anomaly rate on recent traffic leaves the band. */
  readonly requireAnomalyRateInBand: boolean;
}

export type GateCheck =
  | {
      readonly check: 'schema';
      readonly passed: boolean;
      readonly candidate: readonly string[];
      readonly production: readonly string[];
    }
  | {
      readonly check: 'quality';
      readonly passed: boolean;
      readonly source: Evaluation['quality']['source'];
      readonly candidate: number | null;
      readonly production: number | null;
      /** What the candidate had to reach. */
      readonly required: number;
    }
  | {
      readonly check: 'anomalyRate';
      readonly passed: boolean;
      readonly rate: number;
      readonly band: readonly [number, number];
    };

export interface GateVerdict {
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
}

/**
 * Gate (DESIGN.md §8): the candidate passes when
 * - its features equal production's, in order (no schema change);
 * - its quality (labelled ROC AUC, else AUC on injected anomalies) is
 *   ≥ production's − `aucTolerance`, or ≥ `minAuc` when production has no
 *   number (a first model); no quality number at all fails;
 * - its anomaly rate on recent traffic is within the evaluation's band
 *   (when `requireAnomalyRateInBand`).
 */
export function gate(
  evaluation: Evaluation,
  features: { readonly candidate: readonly string[]; readonly production: readonly string[] | null },
  t: GateThresholds,
): GateVerdict {
  const checks: GateCheck[] = [];
  if (features.production) {
    const same =
      features.candidate.length === features.production.length &&
      features.candidate.every((f, i) => f === features.production?.[i]);
    checks.push({
      check: 'schema',
      passed: same,
      candidate: features.candidate,
      production: features.production,
    });
  }
  const q = evaluation.quality;
  const required =
    q.production !== null && Number.isFinite(q.production) ? q.production - t.aucTolerance : t.minAuc;
  checks.push({
    check: 'quality',
    passed: q.candidate !== null && Number.isFinite(q.candidate) && q.candidate >= required,
    source: q.source,
    candidate: q.candidate,
    production: q.production,
    required,
  });
  if (t.requireAnomalyRateInBand) {
    checks.push({
      check: 'anomalyRate',
      passed: evaluation.anomalyRate.withinBand,
      rate: evaluation.anomalyRate.candidate,
      band: evaluation.anomalyRate.band,
    });
  }
  return { passed: checks.every((c) => c.passed), checks };
}

/** One line per failed check, for the notification. */
export function describeGateFailures(v: GateVerdict): string[] {
  const f = (x: number | null) => (x === null ? 'none' : x.toFixed(4));
  return v.checks
    .filter((c) => !c.passed)
    .map((c) => {
      switch (c.check) {
        case 'schema':
          return `schema changed: [${c.production.join(', ')}] → [${c.candidate.join(', ')}]`;
        case 'quality':
          return `quality (${c.source} ROC AUC): candidate ${f(c.candidate)} < required ${f(c.required)} (production ${f(c.production)})`;
        default:
          return `anomaly rate ${(c.rate * 100).toFixed(2)}% outside [${(c.band[0] * 100).toFixed(2)}%, ${(c.band[1] * 100).toFixed(2)}%]`;
      }
    });
}
