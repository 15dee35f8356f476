import type { ReleaseRecord, VersionReadings, VersionRef } from './types.ts';

/** The `live` alias's routing: its primary (blue) version and any additional weights. */
export interface AliasRouting {
  readonly primaryVersion: string;
  /** `CodeSha256` of the primary version: green is published only with this same code. */
  readonly codeSha256: string;
  /** Additional version → weight (0..1), Lambda's `AdditionalVersionWeights`. */
  readonly weights: Readonly<Record<string, number>>;
  /** The alias's `RevisionId`: updates are conditional on it. */
  readonly revisionId: string;
}

/**
 * The score function's versions and `live` alias: the Lambda API in AWS, the twin's simulated
 * versions locally. All changes are guarded (RevisionId / CodeSha256) so a concurrent `cdk deploy`
 * is never overwritten and never slips other code into green.
 * @throws ConflictError when a guard does not hold
 */
export interface ScoreFunctionVersions {
  live(): Promise<AliasRouting>;
  /**
   * Publishes a version of the function whose code is `codeSha256` with `ENV.MODEL_VERSION` pinned
   * to `modelVersion`; `$LATEST`'s configuration ends as it was (any temporary change undone,
   * guarded by the function's revision id).
   */
  publishPinned(input: { readonly modelVersion: number; readonly codeSha256: string }): Promise<VersionRef>;
  /** Routes `weight` (0..1) of `live` to `functionVersion`; weight 0 removes it from the routing. */
  route(functionVersion: string, weight: number, expectRevisionId?: string): Promise<AliasRouting>;
  /** Deletes a version `publishPinned` made, once no weight routes to it. */
  retire(functionVersion: string): Promise<void>;
}

/** Per-version readings over a window: CloudWatch `GetMetricData` in AWS, the twin's metrics store locally. */
export interface ReleaseMetricsReader {
  read(query: {
    readonly model: string;
    readonly blue: VersionRef;
    readonly green: VersionRef;
    readonly from: Date;
    readonly to: Date;
  }): Promise<{ readonly blue: VersionReadings; readonly green: VersionReadings }>;
}

/** Release records in the registry table: at most one non-terminal release per model. */
export interface ReleaseStore {
  /** @throws ConflictError (409) when the model already has a non-terminal release */
  begin(record: Omit<ReleaseRecord, 'revision'>): Promise<ReleaseRecord>;
  /** The model's non-terminal release, if any (the score path's shadow phase reads this). */
  active(model: string): Promise<ReleaseRecord | undefined>;
  get(model: string, releaseId: string): Promise<ReleaseRecord | undefined>;
  /** Newest first. */
  list(model: string, opts?: { readonly limit?: number }): Promise<ReleaseRecord[]>;
  /**
   * Applies `patch` if the stored revision is still `expectRevision`; bumps the revision; moving
   * to a terminal phase frees the model for the next release.
   * @throws ConflictError when the revision moved
   */
  update(
    model: string,
    releaseId: string,
    expectRevision: number,
    patch: Partial<Omit<ReleaseRecord, 'model' | 'releaseId' | 'revision'>>,
  ): Promise<ReleaseRecord>;
}

/**
 * Code deployments of the score function (CodeDeploy's deployment group of `live` in AWS): a
 * model release must not start during one.
 */
export interface CodeDeployments {
  /** Ids of the group's deployments that have not ended; empty when none runs. */
  running(): Promise<readonly string[]>;
}

/** CodeDeploy's lifecycle hook of one deployment (`BeforeAllowTraffic`), as its event names it. */
export interface LifecycleHook {
  readonly deploymentId: string;
  readonly lifecycleEventHookExecutionId: string;
}

/** Answers a deployment's lifecycle hook (`PutLifecycleEventHookExecutionStatus`). */
export interface LifecycleHookReporter {
  report(hook: LifecycleHook, status: 'Succeeded' | 'Failed'): Promise<void>;
}
