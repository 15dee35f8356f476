import type { ReleasePolicyName } from './types.ts';

/** The release state machine's input (`POST /v1/models/{model}/releases`, the retraining machine's `Release`). */
export interface ReleaseExecutionInput {
  readonly model: string;
  readonly version: number;
  readonly policy?: ReleasePolicyName;
  /** Set when the API already recorded the release (so its 409 was synchronous). */
  readonly releaseId?: string;
  readonly startedBy?: string;
}

/** Starts release executions: Step Functions `StartExecution` in AWS, the twin's runner locally. */
export interface ReleaseExecutions {
  start(input: ReleaseExecutionInput): Promise<{ readonly executionArn: string }>;
}
