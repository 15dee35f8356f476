import { ALIAS_NAME_PATTERN, MODEL_NAME_PATTERN } from '#contracts';
import { ConflictError, VigilError } from '#core/errors.ts';
import type { Manifest } from '#core/model/manifest.ts';
import type {
  ApprovalStatus,
  HistoryEvent,
  HistoryEventType,
  ManifestSummary,
  ModelVersion,
} from './types.ts';

/** Model and alias names: one rule each, in `contracts.ts`, shared with the manifest schema and the CDK config. */
export { ALIAS_NAME_PATTERN, MODEL_NAME_PATTERN };
/** Aliases only an Approved version may take, unless configured otherwise. */
export const DEFAULT_PROTECTED_ALIASES: readonly string[] = ['production'];

/** Registry rules that are configuration rather than law. */
export interface RegistryPolicy {
  /** Aliases that only Approved versions may take (default `['production']`). */
  readonly protectedAliases: readonly string[];
}

export const DEFAULT_POLICY: RegistryPolicy = { protectedAliases: DEFAULT_PROTECTED_ALIASES };

/** @throws VigilError BadRequest when `name` is not a valid model name. */
export function assertModelName(name: string): void {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new VigilError('BadRequest', `Invalid model name '${name}': expected ${MODEL_NAME_PATTERN}`, {
      model: name,
    });
  }
}

/** @throws VigilError BadRequest when `alias` is not a valid alias name. */
export function assertAliasName(alias: string): void {
  if (!ALIAS_NAME_PATTERN.test(alias)) {
    throw new VigilError('BadRequest', `Invalid alias '${alias}': expected ${ALIAS_NAME_PATTERN}`, { alias });
  }
}

/** @throws VigilError BadRequest unless `version` is a positive integer. */
export function assertVersionNumber(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new VigilError('BadRequest', `Invalid version '${version}': expected a positive integer`, {
      version,
    });
  }
}

/**
 * The approval state machine: PendingManualApproval → Approved | Rejected,
 * nothing else (a decision is final; register a new version instead).
 * @throws ConflictError when the version is no longer pending.
 */
export function decide(
  current: ApprovalStatus,
  decision: 'Approved' | 'Rejected',
  where: { model: string; version: number },
): ApprovalStatus {
  if (current !== 'PendingManualApproval') {
    throw new ConflictError(
      `Version ${where.version} of '${where.model}' is already ${current}; approval decisions are final`,
      { ...where, approval: current, requested: decision },
    );
  }
  return decision;
}

/**
 * May `version` take `alias`? Rejected versions may take no alias; protected
 * aliases (default `production`) take only Approved versions.
 * @throws VigilError NotApproved
 */
export function assertCanTakeAlias(version: ModelVersion, alias: string, policy: RegistryPolicy): void {
  const where = { model: version.name, version: version.version, alias, approval: version.approval };
  if (version.approval === 'Rejected') {
    throw new VigilError(
      'NotApproved',
      `Version ${version.version} of '${version.name}' was rejected and cannot take alias '${alias}'`,
      where,
    );
  }
  if (policy.protectedAliases.includes(alias) && version.approval !== 'Approved') {
    throw new VigilError(
      'NotApproved',
      `Version ${version.version} of '${version.name}' is ${version.approval}; only Approved versions can take alias '${alias}'`,
      where,
    );
  }
}

/** The one shape of a lost compare-and-set on an alias: a 409 naming the revision it is at now. */
export function revisionConflict(
  model: string,
  alias: string,
  expected: number,
  current: number,
  currentVersion?: number,
) {
  return new ConflictError(
    `Alias '${alias}' of '${model}' is at revision ${current}, not the expected ${expected}; re-read and retry`,
    {
      model,
      alias,
      expectedRevision: expected,
      currentRevision: current,
      // What the alias points at now (absent when unset or deleted), so a client need not re-read.
      ...(currentVersion !== undefined ? { currentVersion } : {}),
    },
  );
}

/** Zero-padded version number used in sort keys and event ids, so lexical order = numeric order. */
export const padVersion = (n: number): string => String(n).padStart(7, '0');

/** Deterministic id of a version's registered/approved/rejected event. */
export const versionEventId = (version: number, type: 'registered' | 'approved' | 'rejected'): string =>
  `version#${padVersion(version)}#${type}`;

/**
 * Deterministic id of the event recording alias revision `revision`. Each
 * revision is written by exactly one successful conditional update, so the
 * (alias, revision) pair names exactly one event, and re-writing it is a no-op.
 */
export const aliasEventId = (alias: string, revision: number): string =>
  `alias#${alias}#${padVersion(revision)}`;

/** The `registered` event of a version, derived from the version itself. */
export function registeredEvent(v: ModelVersion): HistoryEvent {
  return {
    id: versionEventId(v.version, 'registered'),
    at: v.registeredAt,
    type: 'registered',
    actor: v.registeredBy,
    ...(v.registeredReason !== undefined ? { reason: v.registeredReason } : {}),
    version: v.version,
  };
}

/** The approved/rejected event of a decided version, or undefined while pending. */
export function decisionEvent(v: ModelVersion): HistoryEvent | undefined {
  if (v.approval === 'PendingManualApproval' || v.decidedAt === undefined) return undefined;
  const type = v.approval === 'Approved' ? 'approved' : 'rejected';
  return {
    id: versionEventId(v.version, type),
    at: v.decidedAt,
    type,
    actor: v.decidedBy ?? 'unknown',
    ...(v.decisionReason !== undefined ? { reason: v.decisionReason } : {}),
    version: v.version,
  };
}

/** A recorded alias move: everything needed to rebuild its history event. */
export interface AliasMoveRecord {
  readonly alias: string;
  readonly type: Extract<HistoryEventType, 'alias-set' | 'promoted' | 'rolled-back' | 'alias-deleted'>;
  readonly revision: number;
  readonly at: string;
  readonly actor: string;
  readonly reason?: string;
  readonly from?: number;
  /** Absent when the move deleted the alias. */
  readonly to?: number;
}

/** The history event of an alias move. */
export function aliasEvent(m: AliasMoveRecord): HistoryEvent {
  return {
    id: aliasEventId(m.alias, m.revision),
    at: m.at,
    type: m.type,
    actor: m.actor,
    ...(m.reason !== undefined ? { reason: m.reason } : {}),
    alias: m.alias,
    ...(m.from !== undefined ? { from: m.from } : {}),
    ...(m.to !== undefined ? { to: m.to } : {}),
    revision: m.revision,
  };
}

/** History order: by time, ties broken by id (alias revisions and version numbers are zero-padded). */
export function sortEvents(events: readonly HistoryEvent[]): HistoryEvent[] {
  return [...events].sort((a, b) =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
}

/** Moves of one alias, in revision order (the order the conditional writes actually happened). */
export function aliasMoves(events: readonly HistoryEvent[], alias: string): HistoryEvent[] {
  return events
    .filter(
      (e) =>
        (e.type === 'alias-set' ||
          e.type === 'promoted' ||
          e.type === 'rolled-back' ||
          e.type === 'alias-deleted') &&
        e.alias === alias,
    )
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
}

/**
 * Versions this alias has served, other than `current`, oldest first: the
 * candidates of `rollback --to N`.
 */
export function servedBefore(events: readonly HistoryEvent[], alias: string, current?: number): number[] {
  const served: number[] = [];
  for (const e of aliasMoves(events, alias)) {
    if (e.to !== undefined && e.to !== current && !served.includes(e.to)) served.push(e.to);
  }
  return served;
}

/**
 * The rollback target, defined once for the CLI, the API and the release machine:
 *
 * - `rollback` undoes the alias' last move: it points the alias back at the version that move
 *   replaced. The rollback is a move itself, so a second rollback undoes the first (redo), and a
 *   rollback after a delete restores the alias. Undoing the alias' creation would unset it, which
 *   is what `delete` is for, so that is refused.
 * - `rollback --to N` moves the alias to N, which must be a version this alias served before
 *   (the caller also checks that N is Approved).
 * @throws VigilError BadRequest when there is nothing to undo or N is not eligible.
 */
export function rollbackTarget(
  events: readonly HistoryEvent[],
  where: { model: string; alias: string; current?: number },
  to?: number,
): number {
  if (to === undefined) {
    const last = aliasMoves(events, where.alias).at(-1);
    if (last?.from === undefined) {
      throw new VigilError(
        'BadRequest',
        last === undefined
          ? `Alias '${where.alias}' of '${where.model}' has never been set; nothing to roll back`
          : `The last move of alias '${where.alias}' of '${where.model}' created it; undoing it would unset the alias (use delete instead)`,
        where,
      );
    }
    return last.from;
  }
  const eligible = servedBefore(events, where.alias, where.current);
  if (!eligible.includes(to)) {
    throw new VigilError(
      'BadRequest',
      `Cannot roll '${where.alias}' of '${where.model}' back to version ${to}: ${to === where.current ? 'it is the current version' : 'this alias never served it'} (eligible: ${eligible.length ? eligible.join(', ') : 'none'})`,
      { ...where, to, eligible },
    );
  }
  return to;
}

/**
 * Which version the alias pointed at at time `at`: the latest move (in
 * revision order) made at or before `at`; undefined before the first move.
 */
export function aliasAt(events: readonly HistoryEvent[], alias: string, at: Date): number | undefined {
  const t = at.toISOString();
  let version: number | undefined;
  for (const e of aliasMoves(events, alias)) {
    // A delete sets it back to undefined.
    if (e.at <= t) version = e.to;
  }
  return version;
}

/** The manifest fields the registry keeps beside a version. */
export function summarizeManifest(m: Manifest): ManifestSummary {
  return {
    algorithm: m.algorithm,
    features: [...m.features],
    threshold: m.threshold,
    createdAt: m.createdAt,
    trainingRows: m.training.rows,
  };
}
