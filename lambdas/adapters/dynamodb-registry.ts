import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { PRODUCTION_ALIAS } from '#contracts';
import { ConflictError, ModelNotFoundError, VersionNotFoundError, VigilError } from '#core/errors.ts';
import type { ModelRef, ResolvedModel } from '#core/ports.ts';
import {
  type AliasMoveRecord,
  aliasEvent,
  assertAliasName,
  assertModelName,
  assertVersionNumber,
  decide,
  decisionEvent,
  padVersion,
  registeredEvent,
  revisionConflict,
  sortEvents,
} from '#core/registry/rules.ts';
import {
  type AliasMove,
  type AliasState,
  type AliasWrite,
  type ChangeContext,
  type Clock,
  type HistoryEvent,
  type ModelRegistry,
  type ModelSummary,
  type ModelVersion,
  type RegisterInput,
  type StoredAlias,
  systemClock,
} from '#core/registry/types.ts';

/**
 * The model registry on one DynamoDB table (DESIGN.md §6):
 *
 * ```
 * PK=MODEL#<name>  SK=META                      versionCount (atomic ADD), createdAt
 *                  SK=VERSION#<0000001>         immutable version + approval decision
 *                  SK=ALIAS#<alias>             { version, revision, move } — conditional on revision
 *                  SK=EVENT#<iso time>#<id>     append-only history
 * ```
 *
 * No transactions (dynalite lacks TransactWriteItems), so every change is one
 * conditional write of the *state* item, followed by a put of its history
 * event. The event is a pure function of the state item it follows (the alias
 * item keeps its latest move: type, actor, reason, from, at), and its key is
 * derived from (alias, revision) or (version, decision), so:
 *
 * - re-writing an event is idempotent (same key, same content);
 * - the only window is between a successful state write and its event put
 *   (a crash or a throttle there). It is closed three ways: the next move of
 *   the alias first re-puts the event of the revision it replaces; version
 *   items carry their registration/decision, and alias items their latest
 *   move, from which `history()` derives any event not yet stored. History
 *   therefore shows exactly one event per successful write, always.
 */
/** Partition listing every model name (one item per model), so listing needs no Scan. */
const MODEL_INDEX_PK = 'INDEX#MODELS';

export class DynamoRegistry implements ModelRegistry {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;
  readonly #onWarning: (message: string, details: Record<string, unknown>) => void;

  constructor(opts: DynamoRegistryOptions) {
    if (!opts.tableName) throw new Error('DynamoRegistry: tableName is required');
    this.#db = opts.client;
    this.#table = opts.tableName;
    this.#clock = opts.clock ?? systemClock;
    this.#onWarning = opts.onWarning ?? (() => {});
  }

  async register(input: RegisterInput): Promise<ModelVersion> {
    assertModelName(input.name);
    const now = this.#now();
    // The counter is the only allocator: concurrent registrations get distinct numbers.
    // A failure after this point (e.g. the upload) leaves a gap; numbers are never reused.
    const counter = await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: key(input.name, 'META'),
        UpdateExpression: 'ADD versionCount :one SET createdAt = if_not_exists(createdAt, :now), #n = :name',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':one': 1, ':now': now, ':name': input.name },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const version = Number(counter.Attributes?.versionCount);
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new Error(
        `registry counter returned an invalid version: ${String(counter.Attributes?.versionCount)}`,
      );
    }
    // The model index lets listModels Query one partition instead of scanning the table
    // (functions get Query, never Scan). Rewritten on every registration: idempotent.
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { PK: MODEL_INDEX_PK, SK: `MODEL#${input.name}`, name: input.name },
      }),
    );
    const artifactUri = await input.store(version);
    const record: ModelVersion = {
      name: input.name,
      version,
      artifactUri,
      sha256: input.sha256,
      summary: input.summary,
      metrics: input.metrics ?? {},
      lineage: input.lineage ?? {},
      approval: 'PendingManualApproval',
      registeredAt: now,
      registeredBy: input.actor,
      ...(input.reason !== undefined ? { registeredReason: input.reason } : {}),
    };
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...key(input.name, versionSk(version)), kind: 'version', ...record },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) {
        throw new ConflictError(`Version ${version} of '${input.name}' already exists`, {
          model: input.name,
          version,
        });
      }
      throw e;
    }
    await this.#putEventBestEffort(input.name, registeredEvent(record));
    return record;
  }

  approve(model: string, version: number, ctx: ChangeContext): Promise<ModelVersion> {
    return this.#decide(model, version, 'Approved', ctx);
  }

  reject(model: string, version: number, ctx: ChangeContext): Promise<ModelVersion> {
    return this.#decide(model, version, 'Rejected', ctx);
  }

  async getAlias(model: string, alias: string): Promise<StoredAlias | undefined> {
    assertAliasName(alias);
    const item = await this.#getAlias(model, alias);
    if (!item) {
      await this.#requireModel(model);
      return undefined;
    }
    return { ...toAliasState(item), ...(item.deleted ? { deleted: true } : {}) };
  }

  async writeAlias(model: string, alias: string, write: AliasWrite): Promise<AliasMove> {
    assertAliasName(alias);
    const current = await this.#getAlias(model, alias);
    if (!current) await this.#requireModel(model);
    const actual = current?.revision ?? 0;
    if (actual !== write.expectedRevision)
      throw revisionConflict(model, alias, write.expectedRevision, actual);
    return this.#moveAlias(model, alias, current, write);
  }

  async listModels(): Promise<ModelSummary[]> {
    const names: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': MODEL_INDEX_PK },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const it of out.Items ?? []) names.push(String(it.name));
      start = out.LastEvaluatedKey;
    } while (start);
    const models = await Promise.all(
      names.map(async (name) => {
        const [meta, aliases] = await Promise.all([
          this.#db.send(
            new GetCommand({ TableName: this.#table, Key: key(name, 'META'), ConsistentRead: true }),
          ),
          this.#queryPrefix(name, 'ALIAS#').then((items) => items.filter((it) => !it.deleted)),
        ]);
        return {
          name,
          createdAt: String(meta.Item?.createdAt ?? ''),
          latestVersion: Number(meta.Item?.versionCount ?? 0),
          aliases: Object.fromEntries(aliases.map((a) => [String(a.alias), Number(a.version)])),
        };
      }),
    );
    return models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async listVersions(model: string): Promise<ModelVersion[]> {
    await this.#requireModel(model);
    const items = await this.#queryPrefix(model, 'VERSION#');
    return items.map(toVersion);
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    assertModelName(model);
    assertVersionNumber(version);
    const out = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: key(model, versionSk(version)), ConsistentRead: true }),
    );
    if (!out.Item) {
      await this.#requireModel(model);
      throw new VersionNotFoundError(model, version);
    }
    return toVersion(out.Item);
  }

  async listAliases(model: string): Promise<AliasState[]> {
    await this.#requireModel(model);
    const items = await this.#queryPrefix(model, 'ALIAS#');
    return items.filter((it) => !it.deleted).map((it) => toAliasState(it as unknown as AliasItem));
  }

  /**
   * Stored events merged with the events derivable from current state (see the
   * class comment), keyed by their deterministic id, in time order.
   */
  async history(model: string): Promise<HistoryEvent[]> {
    await this.#requireModel(model);
    const items = await this.#queryPrefix(model, '');
    const byId = new Map<string, HistoryEvent>();
    for (const it of items) {
      if (it.kind === 'event') {
        const e = toEvent(it);
        byId.set(e.id, e);
      }
    }
    const derive = (e: HistoryEvent | undefined) => {
      if (e && !byId.has(e.id)) byId.set(e.id, e);
    };
    for (const it of items) {
      if (it.kind === 'version') {
        const v = toVersion(it);
        derive(registeredEvent(v));
        derive(decisionEvent(v));
      } else if (it.kind === 'alias') {
        derive(aliasEvent((it as unknown as AliasItem).move));
      }
    }
    return sortEvents([...byId.values()]);
  }

  /**
   * Explicit version wins; else the alias (default `production`).
   * @throws ModelNotFoundError | VersionNotFoundError | VigilError NotFound (alias unset)
   */
  async resolve(model: string, ref: ModelRef): Promise<ResolvedModel> {
    assertModelName(model);
    let version = ref.version;
    if (version === undefined) {
      const alias = ref.alias ?? PRODUCTION_ALIAS;
      assertAliasName(alias);
      const state = await this.#getAlias(model, alias);
      if (!state || state.deleted) {
        await this.#requireModel(model);
        throw aliasUnset(model, alias);
      }
      version = state.version;
    }
    const v = await this.getVersion(model, version);
    return {
      name: v.name,
      version: v.version,
      artifactUri: v.artifactUri,
      sha256: v.sha256,
      approval: v.approval,
      summary: {
        algorithm: v.summary.algorithm,
        features: v.summary.features,
        threshold: v.summary.threshold,
      },
    };
  }

  async #decide(
    model: string,
    version: number,
    decision: 'Approved' | 'Rejected',
    ctx: ChangeContext,
  ): Promise<ModelVersion> {
    const current = await this.getVersion(model, version);
    decide(current.approval, decision, { model, version });
    const now = this.#now();
    const names: Record<string, string> = { '#a': 'approval' };
    const values: Record<string, unknown> = {
      ':d': decision,
      ':pending': 'PendingManualApproval',
      ':at': now,
      ':by': ctx.actor,
    };
    let set = 'SET #a = :d, decidedAt = :at, decidedBy = :by';
    if (ctx.reason !== undefined) {
      set += ', decisionReason = :why';
      values[':why'] = ctx.reason;
    }
    try {
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key(model, versionSk(version)),
          UpdateExpression: set,
          ConditionExpression: '#a = :pending',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      // Someone decided first: report the state that won.
      const now2 = await this.getVersion(model, version);
      decide(now2.approval, decision, { model, version });
      throw new ConflictError(`Version ${version} of '${model}' changed while deciding; retry`, {
        model,
        version,
      });
    }
    const decided: ModelVersion = {
      ...current,
      approval: decision,
      decidedAt: now,
      decidedBy: ctx.actor,
      ...(ctx.reason !== undefined ? { decisionReason: ctx.reason } : {}),
    };
    const event = decisionEvent(decided);
    if (event) await this.#putEventBestEffort(model, event);
    return decided;
  }

  async #moveAlias(
    model: string,
    alias: string,
    current: AliasItem | undefined,
    write: AliasWrite,
  ): Promise<AliasMove> {
    // Close the window of the previous move before making a new one (idempotent re-put).
    if (current) await this.#putEvent(model, aliasEvent(current.move));
    const revision = (current?.revision ?? 0) + 1;
    const at = this.#now();
    const from = current && !current.deleted ? current.version : undefined;
    const move: AliasMoveRecord = {
      alias,
      type: write.type,
      revision,
      at,
      actor: write.actor,
      ...(write.reason !== undefined ? { reason: write.reason } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(write.type !== 'alias-deleted' && write.to !== undefined ? { to: write.to } : {}),
    };
    const deleted = write.type === 'alias-deleted';
    if (!deleted && write.to === undefined)
      throw new Error(`writeAlias: ${write.type} needs a target version`);
    const item: AliasItem = {
      ...key(model, `ALIAS#${alias}`),
      kind: 'alias',
      name: model,
      alias,
      // A tombstone keeps the last version only so the item stays well-formed; `deleted` rules.
      version: deleted ? (current?.version ?? 0) : (write.to as number),
      revision,
      updatedAt: at,
      move,
      ...(deleted ? { deleted: true } : {}),
    };
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          ...(current
            ? {
                ConditionExpression: '#rev = :expected',
                ExpressionAttributeNames: { '#rev': 'revision' },
                ExpressionAttributeValues: { ':expected': current.revision },
              }
            : { ConditionExpression: 'attribute_not_exists(PK)' }),
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) {
        const now = await this.#getAlias(model, alias);
        throw revisionConflict(model, alias, current?.revision ?? 0, now?.revision ?? 0, liveVersion(now));
      }
      throw e;
    }
    const event = aliasEvent(move);
    await this.#putEventBestEffort(model, event);
    return { state: toAliasState(item), changed: true, event };
  }

  async #putEvent(model: string, e: HistoryEvent): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...key(model, `EVENT#${e.at}#${e.id}`), kind: 'event', ...e },
      }),
    );
  }

  /**
   * After a successful state write the change has happened; failing the call
   * now would invite a retry of something already done. The event is derivable
   * from the state item (and an alias' next move re-puts it), so a failed put
   * is reported as a warning only.
   */
  async #putEventBestEffort(model: string, e: HistoryEvent): Promise<void> {
    try {
      await this.#putEvent(model, e);
    } catch (err) {
      this.#onWarning('history event write failed; it will be re-derived from the alias item', {
        model,
        eventId: e.id,
        error: (err as Error).message,
      });
    }
  }

  async #getAlias(model: string, alias: string): Promise<AliasItem | undefined> {
    assertModelName(model);
    const out = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: key(model, `ALIAS#${alias}`), ConsistentRead: true }),
    );
    return out.Item as AliasItem | undefined;
  }

  async #requireModel(model: string): Promise<void> {
    assertModelName(model);
    const out = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: key(model, 'META'), ConsistentRead: true }),
    );
    if (!out.Item) throw new ModelNotFoundError(model);
  }

  async #queryPrefix(model: string, prefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: prefix ? 'PK = :pk AND begins_with(SK, :p)' : 'PK = :pk',
          ExpressionAttributeValues: { ':pk': `MODEL#${model}`, ...(prefix ? { ':p': prefix } : {}) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  #now(): string {
    return this.#clock.now().toISOString();
  }
}

/** Options of the DynamoDB registry. */
export interface DynamoRegistryOptions {
  /** DocumentClient (see `documentClient()` in `dynamodb-client.ts`). */
  readonly client: DynamoDBDocumentClient;
  /** The registry table (`ENV.REGISTRY_TABLE`). */
  readonly tableName: string;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Called when a best-effort write fails (e.g. a history event after its alias move). */
  readonly onWarning?: (message: string, details: Record<string, unknown>) => void;
}

interface AliasItem {
  PK: string;
  SK: string;
  kind: 'alias';
  name: string;
  alias: string;
  version: number;
  revision: number;
  updatedAt: string;
  move: AliasMoveRecord;
  deleted?: boolean;
}

const key = (model: string, sk: string) => ({ PK: `MODEL#${model}`, SK: sk });
const versionSk = (version: number) => `VERSION#${padVersion(version)}`;

const liveVersion = (item: AliasItem | undefined) => (item && !item.deleted ? item.version : undefined);

const isConditionFailure = (e: unknown): boolean =>
  (e as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

const aliasUnset = (model: string, alias: string) =>
  new VigilError('NotFound', `Model '${model}' has no '${alias}' alias set`, { model, alias });

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { PK: _pk, SK: _sk, kind: _kind, ...rest } = item;
  return rest;
}

const toVersion = (item: Record<string, unknown>) => strip(item) as unknown as ModelVersion;
const toEvent = (item: Record<string, unknown>) => strip(item) as unknown as HistoryEvent;
const toAliasState = (it: AliasItem): AliasState => ({
  name: it.name,
  alias: it.alias,
  version: Number(it.version),
  revision: Number(it.revision),
  updatedAt: it.updatedAt,
});
