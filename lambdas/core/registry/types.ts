import type { ModelRef, ModelResolver, ResolvedModel } from '#core/ports.ts';

/** Approval state of a registered version. The only transitions are Pending → Approved | Rejected. */
export type ApprovalStatus = 'PendingManualApproval' | 'Approved' | 'Rejected';

/** Kinds of history event. Every registry change appends exactly one. */
export type HistoryEventType =
  | 'registered'
  | 'approved'
  | 'rejected'
  | 'alias-set'
  // A model release moved `production` to its candidate (lambdas/app/release.ts).
  | 'promoted'
  | 'rolled-back'
  | 'alias-deleted'
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
  /** Version the alias points at after (absent when the move deleted the alias). */
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

/**
 * One compare-and-set write of an alias item: the storage primitive every alias
 * change (set, rollback, delete) goes through. The rules deciding *whether* a
 * move is allowed live in `rules.ts` and the use cases (`lambdas/app/models.ts`).
 */
export interface AliasWrite extends ChangeContext {
  readonly type: 'alias-set' | 'promoted' | 'rolled-back' | 'alias-deleted';
  /** Target version; absent for `alias-deleted`. */
  readonly to?: number;
  /** The revision the caller read (0 = the alias item does not exist); the write fails unless it still holds. */
  readonly expectedRevision: number;
}

/** Result of an alias move. `changed` is false when the alias already pointed at the version. */
export interface AliasMove {
  /** The alias after the move; `version` is absent when the move deleted it. */
  readonly state: AliasState;
  readonly changed: boolean;
  readonly event?: HistoryEvent;
}

/**
 * Storage of the model registry (DESIGN.md §6): immutable numbered versions,
 * approval decisions, alias items and the append-only history. Implemented by
 * the DynamoDB adapter. It enforces only what must be atomic (version numbers,
 * one decision per version, alias revisions); the rules live in `rules.ts` and
 * the use cases in `lambdas/app/models.ts`, which every entry point calls.
 * `resolve` (from ModelResolver) is what the score path calls.
 */
export interface ModelRegistry extends ModelResolver {
  /** Allocates the next version number, stores the package, records the version. */
  register(input: RegisterInput): Promise<ModelVersion>;
  /** Records Pending → Approved atomically. @throws ModelNotFoundError | VersionNotFoundError | ConflictError */
  approve(model: string, version: number, ctx: ChangeContext): Promise<ModelVersion>;
  /** Records Pending → Rejected atomically. @throws ModelNotFoundError | VersionNotFoundError | ConflictError */
  reject(model: string, version: number, ctx: ChangeContext): Promise<ModelVersion>;
  /**
   * The alias item as stored, including a deleted alias' tombstone (`deleted: true`), which keeps
   * its revision counting so event ids stay unique. Undefined when it never existed.
   */
  getAlias(model: string, alias: string): Promise<StoredAlias | undefined>;
  /** Writes an alias change if its revision is still `expectedRevision`. @throws ConflictError */
  writeAlias(model: string, alias: string, write: AliasWrite): Promise<AliasMove>;
  listModels(): Promise<ModelSummary[]>;
  /** Versions in ascending order. @throws ModelNotFoundError */
  listVersions(model: string): Promise<ModelVersion[]>;
  /** @throws ModelNotFoundError | VersionNotFoundError */
  getVersion(model: string, version: number): Promise<ModelVersion>;
  /** Current (not deleted) aliases. @throws ModelNotFoundError */
  listAliases(model: string): Promise<AliasState[]>;
  /** Full history in order. @throws ModelNotFoundError */
  history(model: string): Promise<HistoryEvent[]>;
  /**
   * An explicit version wins and is served whatever its approval (pinned
   * Lambda versions and canaries name it on purpose); else the alias
   * (default `production`).
   * @throws ModelNotFoundError | VersionNotFoundError | VigilError NotFound (alias unset)
   */
  resolve(model: string, ref: ModelRef): Promise<ResolvedModel>;
}

/** An alias item as stored: a live alias, or the tombstone of a deleted one. */
export interface StoredAlias extends AliasState {
  readonly deleted?: boolean;
}
