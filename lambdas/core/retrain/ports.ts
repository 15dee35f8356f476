/**
 * Ports of the retraining steps (DESIGN.md §8), beside the shared ones in `core/ports.ts`.
 * Adapters: `adapters/blob-store-*.ts`, `adapters/dynamodb-retraining.ts`, `adapters/sns-notifier.ts`.
 */

import type { ExecutionHistory } from './steps.ts';

/**
 * Bytes between steps: Step Functions carries at most 256 KB per state, so
 * datasets and staged candidate packages go here and only their URIs travel.
 */
export interface BlobStore {
  /** Writes `body` under `key` (relative, `/`-separated) and returns its URI. */
  put(key: string, body: Uint8Array | string): Promise<string>;
  /**
   * Reads a URI written by `put`, or a user-supplied dataset (`s3://…` in AWS,
   * a path or `file://` URI on the twin).
   * @throws VigilError NotFound | BadRequest
   */
  get(uri: string): Promise<Uint8Array>;
}

/** Who holds a model's retraining lock. */
export interface RetrainingLockHolder {
  readonly executionArn: string;
  readonly acquiredAt: string;
  /** After this the holder is presumed dead (the state machine's own timeout has passed). */
  readonly leaseUntil: string;
}

export type AcquireResult =
  | { readonly acquired: true; readonly tookOverFrom?: RetrainingLockHolder }
  | { readonly acquired: false; readonly holder: RetrainingLockHolder };

/** Kinds of retraining history event written on the model (beside the registry's own). */
export type RetrainingEventType = 'retraining-started' | 'retraining-skipped' | 'retraining-finished';

export interface RetrainingHistoryEvent {
  /** Stable: re-writing the same event (a retried step) never duplicates it. */
  readonly id: string;
  readonly at: string;
  readonly type: RetrainingEventType;
  readonly actor: string;
  readonly reason?: string;
  readonly executionArn: string;
  readonly outcome?: string;
  readonly version?: number;
}

/**
 * The per-model retraining lock and history, kept in the registry table so "one
 * execution per model" is a conditional write beside the versions it guards.
 */
export interface RetrainingLedger {
  /**
   * Takes the model's lock for `executionArn` unless another live execution holds it.
   * Re-entrant for the same execution (a retried step). A holder whose lease has
   * passed, or that `isRunning` says has ended, is replaced.
   */
  acquire(
    model: string,
    executionArn: string,
    opts: {
      readonly now: Date;
      readonly leaseMs: number;
      readonly isRunning?: (arn: string) => Promise<boolean>;
    },
  ): Promise<AcquireResult>;
  /** Releases the lock if `executionArn` holds it; true when it did. */
  release(model: string, executionArn: string): Promise<boolean>;
  /** Appends a history event on the model (idempotent by id). */
  appendEvent(model: string, event: RetrainingHistoryEvent): Promise<void>;
  /**
   * Keeps the task token of a version waiting for approval, so the approve/reject
   * route can answer the waiting execution (`SendTaskSuccess`/`SendTaskFailure`).
   */
  putApprovalRequest(model: string, version: number, request: ApprovalRequest): Promise<void>;
  getApprovalRequest(model: string, version: number): Promise<ApprovalRequest | undefined>;
}

/** A version waiting for a person's decision. */
export interface ApprovalRequest {
  readonly taskToken: string;
  readonly executionArn: string;
  readonly requestedAt: string;
}

/** A human-readable notification (SNS in AWS, a JSON-lines file on the twin). */
export interface Notifier {
  notify(message: { readonly subject: string; readonly body: Record<string, unknown> }): Promise<void>;
}

/** Creates Kubernetes objects (the EKS API in AWS; the large-data training branch). */
export interface JobSubmitter {
  createJob(namespace: string, job: import('kubernetes-models/batch/v1').Job): Promise<void>;
}

/** One execution of the retraining machine, as DescribeExecution and its history say. */
export interface ExecutionInfo {
  readonly executionArn: string;
  readonly name: string;
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  readonly startDate: string;
  readonly stopDate?: string;
  /** The execution input (model, trigger …), parsed. */
  readonly input?: unknown;
  /** The state it is in, or ended in (its last entered state). */
  readonly step?: string;
  readonly error?: string;
  readonly cause?: string;
}

/**
 * The retraining machine's executions: Step Functions (StartExecution, ListExecutions,
 * DescribeExecution, GetExecutionHistory) in AWS, the twin's runner locally.
 */
export interface RetrainingExecutions {
  /** Starts an execution with `input`. */
  start(input: unknown): Promise<{ readonly executionArn: string; readonly startDate: string }>;
  /** The most recent executions (up to `limit`), newest first, each described. */
  list(limit: number): Promise<ExecutionInfo[]>;
  /** One execution; undefined when it does not exist. */
  describe(executionArn: string): Promise<ExecutionInfo | undefined>;
  /** The ARN an execution of the retraining machine named `name` has (it may not exist). */
  arnOf(name: string): string;
  /**
   * The execution's top-level steps in order, with outcome, timing and error (from its first
   * {@link import('./steps.ts').MAX_HISTORY_EVENTS} history events); undefined when it does not exist.
   */
  history(executionArn: string): Promise<ExecutionHistory | undefined>;
}

/** Answers a waiting Step Functions task (`SendTaskSuccess` / `SendTaskFailure`). */
export interface TaskAnswer {
  success(taskToken: string, output: unknown): Promise<void>;
  failure(taskToken: string, error: string, cause: string): Promise<void>;
}
