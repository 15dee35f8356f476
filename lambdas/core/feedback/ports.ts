import type { LabelRecord } from './labels.ts';

/** Where feedback labels are kept (the feedback table in AWS, dynalite on the twin). */
export interface FeedbackStore {
  /** The label of one prediction row, if any. */
  get(model: string, requestId: string, index: number): Promise<LabelRecord | undefined>;
  /**
   * Writes `record` if the stored one is still at `expectedRevision` (`null`: none stored yet).
   * @returns false when another writer got there first (re-read and decide again)
   */
  put(record: LabelRecord, expectedRevision: number | null): Promise<boolean>;
  /** Every label of a model (labels are written by people: a model has few). */
  list(model: string): Promise<LabelRecord[]>;
}

/** A captured row as the request index returns it: enough to learn who scored it. */
export interface CapturedPrediction {
  readonly model: string;
  readonly version: number;
  readonly index: number;
  readonly at: string;
}

/**
 * Finds the captured rows of a request id (the captures table's `ByRequest` index). Absent where
 * captures have no such index (the Firehose path): a label then needs `model` from the caller.
 */
export interface CaptureLookup {
  findRequest(requestId: string): Promise<CapturedPrediction[]>;
}
