/**
 * Feedback labels (DESIGN.md §8, README "Feedback labels"): a person says whether one scored row
 * (request id + row index) was really an anomaly. Pure rules; the store is a port.
 */

/** What a person says about a prediction. */
export type Label = 'anomaly' | 'normal';

/**
 * Whether the labelled row was captured when the label was recorded:
 * - `captured`: its capture exists (model and version come from it);
 * - `not-captured`: the request was looked up and this row was not kept by sampling;
 * - `unchecked`: the capture path has no lookup by request (Firehose → Parquet), so the label
 *   carries what the caller said; the quality report still joins it with captures by key.
 */
export type CaptureStatus = 'captured' | 'not-captured' | 'unchecked';

/** An earlier label of the same row, kept when it changed. */
export interface LabelChange {
  readonly label: Label;
  readonly labelledAt: string;
  readonly labelledBy?: string;
}

/** One labelled prediction row as stored. */
export interface LabelRecord {
  readonly model: string;
  /** The version that scored the row: from its capture, else as the caller said (may be unknown). */
  readonly version?: number;
  readonly requestId: string;
  readonly index: number;
  readonly label: Label;
  readonly capture: CaptureStatus;
  /** When the prediction was made, from its capture. */
  readonly predictedAt?: string;
  /** When the current label was given. */
  readonly labelledAt: string;
  /** The API key id that gave it, where known. */
  readonly labelledBy?: string;
  /** When the row was first labelled. */
  readonly createdAt: string;
  /** 1 on creation, +1 per change: the store writes conditionally on it. */
  readonly revision: number;
  /** Earlier labels, oldest first. */
  readonly history: readonly LabelChange[];
}

/** A label as it arrives, with what is known of the prediction it is about. */
export interface IncomingLabel {
  readonly model: string;
  readonly version?: number;
  readonly requestId: string;
  readonly index: number;
  readonly label: Label;
  readonly capture: CaptureStatus;
  readonly predictedAt?: string;
  readonly at: string;
  readonly by?: string;
}

/** Earlier labels kept per row; the oldest go first beyond this (a label flipped back and forth). */
export const MAX_LABEL_HISTORY = 50;

/** What recording a label did. */
export type LabelOutcome = 'created' | 'unchanged' | 'changed';

/**
 * The idempotency rule of `POST /v1/feedback`:
 * - no label yet → `created`, revision 1;
 * - the same label again → `unchanged`: nothing is written (a retried request is one label);
 * - another label → `changed`: the previous label moves into `history` and the revision goes up.
 *
 * What the capture says (model, version, capture status, prediction time) is refreshed on a
 * change, never on `unchanged`, so a repeat is a true no-op.
 * @example decideLabel(undefined, incoming).outcome === 'created'
 */
export function decideLabel(
  existing: LabelRecord | undefined,
  incoming: IncomingLabel,
): { readonly outcome: LabelOutcome; readonly record: LabelRecord } {
  const facts = {
    model: incoming.model,
    requestId: incoming.requestId,
    index: incoming.index,
    capture: incoming.capture,
    ...(incoming.version !== undefined ? { version: incoming.version } : {}),
    ...(incoming.predictedAt !== undefined ? { predictedAt: incoming.predictedAt } : {}),
  };
  if (!existing) {
    return {
      outcome: 'created',
      record: {
        ...facts,
        label: incoming.label,
        labelledAt: incoming.at,
        ...(incoming.by ? { labelledBy: incoming.by } : {}),
        createdAt: incoming.at,
        revision: 1,
        history: [],
      },
    };
  }
  if (existing.label === incoming.label) return { outcome: 'unchanged', record: existing };
  const previous: LabelChange = {
    label: existing.label,
    labelledAt: existing.labelledAt,
    ...(existing.labelledBy ? { labelledBy: existing.labelledBy } : {}),
  };
  return {
    outcome: 'changed',
    record: {
      // A version the caller gave earlier survives a later label that names none.
      ...(existing.version !== undefined ? { version: existing.version } : {}),
      ...(existing.predictedAt !== undefined ? { predictedAt: existing.predictedAt } : {}),
      ...facts,
      label: incoming.label,
      labelledAt: incoming.at,
      ...(incoming.by ? { labelledBy: incoming.by } : {}),
      createdAt: existing.createdAt,
      revision: existing.revision + 1,
      history: [...existing.history, previous].slice(-MAX_LABEL_HISTORY),
    },
  };
}

/** 1 = anomaly, 0 = normal: the dataset's and the metrics' encoding. */
export const labelValue = (l: Label): 0 | 1 => (l === 'anomaly' ? 1 : 0);

/** Join key of a label and a capture: request id and row index. */
export const predictionKey = (requestId: string, index: number): string => `${requestId}#${index}`;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Longest quality window: the longest capture TTL of any environment (90 days). */
export const MAX_QUALITY_WINDOW_MS = 90 * UNIT_MS.d;

/**
 * A window such as `30m`, `24h` or `7d` in ms (at most 90 days).
 * @throws Error saying what a window looks like
 */
export function parseWindow(text: string): number {
  const m = /^([1-9][0-9]{0,4})([mhd])$/.exec(text);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : Number.NaN;
  if (!(ms > 0) || ms > MAX_QUALITY_WINDOW_MS) {
    throw new Error(`window must look like 30m, 24h or 7d (at most 90d), got '${text}'`);
  }
  return ms;
}
