import type { ModelRef, ModelResolver, ResolvedModel } from '#core/ports.ts';

/** Approval state of a registered version. The only transitions are Pending → Approved | Rejected. */
export type ApprovalStatus = 'PendingManualApproval' | 'Approved' | 'Rejected';

/** Kinds of history event. Every registry change appends exactly one. */
export type HistoryEventType =
  | 'registered'
  | 'approved'
  | 'rejected'
  | 'alias-set'
  | 'rolled-back'
  // Written by retraining (lambdas/adapters/dynamodb-retraining.ts).
  | 'retraining-started'
  | 'retraining-skipped'
  | 'retraining-finished';

/** Source of "now"; injected so tests (and `productionAt`) control time. */
export interface Clock {
  now(): Date;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** Who made a change and why; recorded on the history event. */
export interface ChangeContext {
  readonly actor: string;
  readonly reason?: string;
}

/** The part of a manifest the registry keeps beside each version (the package stays the source of truth). */
export interface ManifestSummary {
  readonly algorithm: string;
  readonly features: readonly string[];
  readonly threshold: number;
  readonly createdAt: string;
  readonly trainingRows: number;
}

/** Where a version came from. */
export interface Lineage {
  readonly dataWindow?: { readonly from: string; readonly to: string } | null;
  readonly dataSha256?: string;
  /** Drift report that triggered the retraining, when any. */
  readonly driftReportId?: string;
  /** Version this one was trained to replace. */
  readonly parentVersion?: number;
  /** Step Functions execution that trained it (retraining). */
  readonly executionArn?: string;
  /** Seed of the split, injector and forest, so the training can be repeated. */
  readonly seed?: number;
}

/** One immutable registered version (only its approval decision is ever written again, once). */
export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly artifactUri: string;
  readonly sha256: string;
  readonly summary: ManifestSummary;
  readonly metrics: Readonly<Record<string, number>>;
  readonly lineage: Lineage;
  readonly approval: ApprovalStatus;
  readonly registeredAt: string;
  readonly registeredBy: string;
  readonly registeredReason?: string;
  /** When/who/why the approval decision was made (absent while pending). */
  readonly decidedAt?: string;
  readonly decidedBy?: string;
  readonly decisionReason?: string;
}

/** Where an alias points. `revision` increases by one on every successful move. */
export interface AliasState {
  readonly name: string;
  readonly alias: string;
  readonly version: number;
  readonly revision: number;
  readonly updatedAt: string;
}

/** One append-only history entry. */
export interface HistoryEvent {
  /** Stable key: derived from what changed, so re-writing the same event never duplicates it. */
  readonly id: string;
  readonly at: string;
  readonly type: HistoryEventType;
  readonly actor: string;
  readonly reason?: string;
  /** Version registered / approved / rejected. */
  readonly version?: number;
  /** Alias moved (alias-set, rolled-back). */
  readonly alias?: string;
  /** Version the alias pointed at before (absent when the alias was new). */
  readonly from?: number;
  /** Version the alias points at after. */
  readonly to?: number;
  /** Alias revision this event records. */
  readonly revision?: number;
}

/** A model as listed: its newest version number and where its aliases point. */
export interface ModelSummary {
  readonly name: string;
  readonly createdAt: string;
  readonly latestVersion: number;
  readonly aliases: Readonly<Record<string, number>>;
}

/** What `register` needs; the version number is allocated by the registry. */
export interface RegisterInput extends ChangeContext {
  readonly name: string;
  readonly sha256: string;
  readonly summary: ManifestSummary;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly lineage?: Lineage;
  /**
   * Stores the package once its version number is known and returns the
   * artifact URI. Called exactly once, before the version item is written.
   */
  readonly store: (version: number) => Promise<string>;
}

/** Options of `setAlias`. */
export interface SetAliasOptions extends ChangeContext {
  /** Compare-and-set: fail with ConflictError unless the alias is at this revision (0 = unset). */
  readonly expectedRevision?: number;
}

/** Options of `rollback`. */
export interface RollbackOptions extends ChangeContext {
  /** Target version; default: the version the alias pointed at before its latest move. */
  readonly to?: number;
  readonly expectedRevision?: number;
}

/** Result of an alias move. `changed` is false when the alias already pointed at the version. */
export interface AliasMove {
  readonly state: AliasState;
  readonly changed: boolean;
  readonly event?: HistoryEvent;
}

/**
 * The model registry (DESIGN.md §6): immutable numbered versions, approval,
 * aliases and an append-only history. Implemented by the DynamoDB adapter.
 * `resolve` (from ModelResolver) is what the score handler calls: an explicit
 * version wins, else the alias (default `production`).
 */
export interface ModelRegistry extends ModelResolver {
  /** @throws VigilError BadRequest on an invalid name. */
  register(input: RegisterInput): Promise<ModelVersion>;
  /** Pending → Approved. @throws ModelNotFoundError | VersionNotFoundError | ConflictError */
  approve(model: string, version: number, ctx: ChangeContext): Promise<ModelVersion>;
  /** Pending → Rejected. @throws ModelNotFoundError | VersionNotFoundError | ConflictError */
  reject(model: string, version: number, ctx: ChangeContext): Promise<ModelVersion>;
  /** Points an alias at a version. @throws NotApproved for protected aliases, ConflictError on a lost race. */
  setAlias(model: string, alias: string, version: number, opts: SetAliasOptions): Promise<AliasMove>;
  /** Points an alias back at an earlier version, recorded as `rolled-back`. */
  rollback(model: string, alias: string, opts: RollbackOptions): Promise<AliasMove>;
  listModels(): Promise<ModelSummary[]>;
  /** Versions in ascending order. @throws ModelNotFoundError */
  listVersions(model: string): Promise<ModelVersion[]>;
  /** @throws ModelNotFoundError | VersionNotFoundError */
  getVersion(model: string, version: number): Promise<ModelVersion>;
  /** Current aliases. @throws ModelNotFoundError */
  listAliases(model: string): Promise<AliasState[]>;
  /** Full history in order. @throws ModelNotFoundError */
  history(model: string): Promise<HistoryEvent[]>;
  /** Version the alias pointed at at time `at`, or undefined when it was unset. */
  aliasAt(model: string, alias: string, at: Date): Promise<number | undefined>;
  /** `aliasAt(model, 'production', at)`. */
  productionAt(model: string, at: Date): Promise<number | undefined>;
  /**
   * An explicit version wins and is served whatever its approval (pinned
   * Lambda versions and canaries name it on purpose); else the alias
   * (default `production`).
   * @throws ModelNotFoundError | VersionNotFoundError | VigilError NotFound (alias unset)
   */
  resolve(model: string, ref: ModelRef): Promise<ResolvedModel>;
}
