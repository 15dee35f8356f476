import type { ReleasePolicyName } from './types.ts';

/** The release state machine's input (`POST /v1/models/{model}/releases`, the retraining machine's `Release`). */
export interface ReleaseExecutionInput {
  readonly model: string;
  readonly version: number;
  readonly policy?: ReleasePolicyName;
  /** Set when the API already recorded the release (so its 409 was synchronous). */
  readonly releaseId?: string;
  readonly startedBy?: string;
  /**
   * Set by `POST …/releases/{id}/abort`: this execution only rolls the release back (its Choice
   * goes straight to `Abort`), stopping the release's own execution first if it still runs.
   */
  readonly abort?: { readonly by: string; readonly reason: string };
}

/** Starts release executions: Step Functions `StartExecution` in AWS, the twin's runner locally. */
export interface ReleaseExecutions {
  start(input: ReleaseExecutionInput): Promise<{ readonly executionArn: string }>;
}

/** Stops a release execution (`StopExecution`); stopping one that already ended is not an error. */
export interface ReleaseExecutionStopper {
  stop(executionArn: string, cause: string): Promise<void>;
}
