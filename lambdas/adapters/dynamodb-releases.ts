import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { RELEASE_ID_PATTERN } from '#contracts';
import { ConflictError, VigilError } from '#core/errors.ts';
import { assertModelName } from '#core/registry/rules.ts';
import { type Clock, systemClock } from '#core/registry/types.ts';
import type { ReleaseStore } from '#core/release/ports.ts';
import { type ReleaseRecord, TERMINAL_RELEASE_PHASES } from '#core/release/types.ts';

/**
 * Release records in the registry table, beside the model's registry items (DESIGN.md §6, §8):
 *
 * ```
 * PK=MODEL#<name>  SK=RELEASE_ACTIVE        the model's current release: { releaseId, revision, phase, body }
 *                  SK=RELEASE#<releaseId>   every release that ended (terminal), kept for history
 * ```
 *
 * The single `RELEASE_ACTIVE` item is the "one release per model" lock: `begin` is a conditional
 * put that succeeds only when no item is there or the one there is terminal, and every `update` is
 * a conditional put on `(releaseId, revision)`. No transactions (dynalite lacks them), so ending a
 * release takes three writes, each safe to crash after:
 *
 * 1. the terminal record replaces the active item (conditional on the revision) — the decision;
 * 2. it is copied to `RELEASE#<id>` (idempotent put);
 * 3. the active item is deleted (conditional on the terminal revision).
 *
 * A crash after 1 or 2 leaves a terminal active item: `active()` ignores it, `begin()` archives it
 * first and then replaces it, and `list()`/`get()` read whichever copy has the higher revision.
 * The score path's `active()` is therefore one consistent GetItem.
 *
 * The record is stored as one JSON string (`body`): judgements nest deeply and may carry
 * non-finite numbers (an anomaly-rate ratio of Infinity), which DynamoDB numbers cannot hold.
 */
export class DynamoReleaseStore implements ReleaseStore {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;

  constructor(opts: DynamoReleaseStoreOptions) {
    if (!opts.tableName) throw new Error('DynamoReleaseStore: tableName is required');
    this.#db = opts.client;
    this.#table = opts.tableName;
    this.#clock = opts.clock ?? systemClock;
  }

  async begin(input: Omit<ReleaseRecord, 'revision'>): Promise<ReleaseRecord> {
    assertModelName(input.model);
    assertReleaseId(input.releaseId);
    if (isTerminal(input)) {
      throw new VigilError('BadRequest', `A release cannot begin in the terminal phase '${input.phase}'`, {
        model: input.model,
        phase: input.phase,
      });
    }
    const record: ReleaseRecord = { ...input, revision: 1 };
    const current = await this.#getActive(input.model);
    if (current && !isTerminal(current)) throw alreadyRunning(current);
    // A terminal active item is the trace of an end that crashed before its delete: archive it
    // (idempotent) before the new release takes its place.
    if (current) await this.#archive(current);
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: activeItem(record),
          ...(current
            ? {
                ConditionExpression: 'releaseId = :id AND revision = :rev',
                ExpressionAttributeValues: { ':id': current.releaseId, ':rev': current.revision },
              }
            : { ConditionExpression: 'attribute_not_exists(PK)' }),
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const now = await this.#getActive(input.model);
      if (now && !isTerminal(now)) throw alreadyRunning(now);
      throw new ConflictError(`Another release of '${input.model}' began at the same time; retry`, {
        model: input.model,
      });
    }
    return record;
  }

  async active(model: string): Promise<ReleaseRecord | undefined> {
    assertModelName(model);
    const current = await this.#getActive(model);
    return current && !isTerminal(current) ? current : undefined;
  }

  async get(model: string, releaseId: string): Promise<ReleaseRecord | undefined> {
    assertModelName(model);
    const [current, archived] = await Promise.all([
      this.#getActive(model),
      this.#db
        .send(
          new GetCommand({
            TableName: this.#table,
            Key: key(model, releaseSk(releaseId)),
            ConsistentRead: true,
          }),
        )
        .then((out) => (out.Item ? fromItem(out.Item) : undefined)),
    ]);
    const mine = current?.releaseId === releaseId ? current : undefined;
    return newer(mine, archived);
  }

  async list(model: string, opts: { readonly limit?: number } = {}): Promise<ReleaseRecord[]> {
    assertModelName(model);
    const [current, archived] = await Promise.all([this.#getActive(model), this.#queryArchive(model)]);
    const byId = new Map<string, ReleaseRecord>();
    for (const r of [...archived, ...(current ? [current] : [])]) {
      byId.set(r.releaseId, newer(byId.get(r.releaseId), r) as ReleaseRecord);
    }
    const newestFirst = [...byId.values()].sort((a, b) =>
      a.startedAt === b.startedAt ? cmp(b.releaseId, a.releaseId) : cmp(b.startedAt, a.startedAt),
    );
    return opts.limit === undefined ? newestFirst : newestFirst.slice(0, Math.max(0, opts.limit));
  }

  async update(
    model: string,
    releaseId: string,
    expectRevision: number,
    patch: Partial<Omit<ReleaseRecord, 'model' | 'releaseId' | 'revision'>>,
  ): Promise<ReleaseRecord> {
    assertModelName(model);
    const current = await this.#getActive(model);
    if (
      !current ||
      current.releaseId !== releaseId ||
      current.revision !== expectRevision ||
      isTerminal(current)
    ) {
      const actual = current?.releaseId === releaseId ? current : await this.get(model, releaseId);
      if (!actual) {
        throw new VigilError('NotFound', `Model '${model}' has no release '${releaseId}'`, {
          model,
          releaseId,
        });
      }
      throw revisionMoved(model, releaseId, expectRevision, actual);
    }
    const next: ReleaseRecord = {
      ...current,
      ...patch,
      model,
      releaseId,
      revision: expectRevision + 1,
      updatedAt: patch.updatedAt ?? this.#clock.now().toISOString(),
    };
    if (isTerminal(next) && next.endedAt === undefined) {
      (next as { endedAt?: string }).endedAt = next.updatedAt;
    }
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: activeItem(next),
          ConditionExpression: 'releaseId = :id AND revision = :rev',
          ExpressionAttributeValues: { ':id': releaseId, ':rev': expectRevision },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      const actual = await this.get(model, releaseId);
      throw revisionMoved(model, releaseId, expectRevision, actual);
    }
    if (isTerminal(next)) {
      await this.#archive(next);
      await this.#db
        .send(
          new DeleteCommand({
            TableName: this.#table,
            Key: key(model, ACTIVE_SK),
            ConditionExpression: 'releaseId = :id AND revision = :rev',
            ExpressionAttributeValues: { ':id': releaseId, ':rev': next.revision },
          }),
        )
        .catch((e: unknown) => {
          // Someone already archived and replaced it (a `begin` after a crash): nothing left to do.
          if (!isConditionFailure(e)) throw e;
        });
    }
    return next;
  }

  async #archive(record: ReleaseRecord): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...key(record.model, releaseSk(record.releaseId)), ...itemAttributes(record) },
      }),
    );
  }

  async #getActive(model: string): Promise<ReleaseRecord | undefined> {
    const out = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: key(model, ACTIVE_SK), ConsistentRead: true }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async #queryArchive(model: string): Promise<ReleaseRecord[]> {
    const records: ReleaseRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#db.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :p)',
          ExpressionAttributeValues: { ':pk': `MODEL#${model}`, ':p': 'RELEASE#' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const it of out.Items ?? []) records.push(fromItem(it));
      start = out.LastEvaluatedKey;
    } while (start);
    return records;
  }
}

/** Options of the DynamoDB release store. */
export interface DynamoReleaseStoreOptions {
  /** DocumentClient (see `documentClient()` in `dynamodb-client.ts`). */
  readonly client: DynamoDBDocumentClient;
  /** The registry table (`ENV.REGISTRY_TABLE`): releases live beside the model's registry items. */
  readonly tableName: string;
  /** Stamps `updatedAt` when a patch does not. @default the system clock */
  readonly clock?: Clock;
}

const ACTIVE_SK = 'RELEASE_ACTIVE';

function assertReleaseId(id: string): void {
  if (!RELEASE_ID_PATTERN.test(id)) {
    throw new VigilError('BadRequest', `Invalid release id '${id}': expected ${RELEASE_ID_PATTERN}`, {
      releaseId: id,
    });
  }
}

const key = (model: string, sk: string) => ({ PK: `MODEL#${model}`, SK: sk });
const releaseSk = (releaseId: string) => `RELEASE#${releaseId}`;
const isTerminal = (r: Pick<ReleaseRecord, 'phase'>) => TERMINAL_RELEASE_PHASES.includes(r.phase);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const newer = (a: ReleaseRecord | undefined, b: ReleaseRecord | undefined) =>
  !a ? b : !b ? a : b.revision > a.revision ? b : a;

/** Top-level attributes the conditions need, beside the record itself. */
const itemAttributes = (r: ReleaseRecord) => ({
  kind: 'release',
  releaseId: r.releaseId,
  revision: r.revision,
  phase: r.phase,
  startedAt: r.startedAt,
  body: JSON.stringify(r, encodeNonFinite),
});
const activeItem = (r: ReleaseRecord) => ({ ...key(r.model, ACTIVE_SK), ...itemAttributes(r) });

const NON_FINITE = {
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
  NaN: Number.NaN,
};
function encodeNonFinite(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? { $number: String(value) } : value;
}
function decodeNonFinite(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && '$number' in value) {
    const s = (value as { $number: unknown }).$number;
    if (typeof s === 'string' && s in NON_FINITE) return NON_FINITE[s as keyof typeof NON_FINITE];
  }
  return value;
}
const fromItem = (item: Record<string, unknown>): ReleaseRecord =>
  JSON.parse(String(item.body), decodeNonFinite) as ReleaseRecord;

const isConditionFailure = (e: unknown): boolean =>
  (e as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

const alreadyRunning = (r: ReleaseRecord) =>
  new ConflictError(`Model '${r.model}' already has a release in progress (${r.releaseId}, ${r.phase})`, {
    model: r.model,
    releaseId: r.releaseId,
    phase: r.phase,
    candidateVersion: r.candidateVersion,
  });

const revisionMoved = (
  model: string,
  releaseId: string,
  expected: number,
  actual: ReleaseRecord | undefined,
) =>
  new ConflictError(
    `Release '${releaseId}' of '${model}' is at revision ${actual?.revision ?? 'unknown'}, not ${expected}${
      actual && isTerminal(actual) ? ` (it ended: ${actual.phase})` : ''
    }; re-read and retry`,
    { model, releaseId, expectedRevision: expected, actualRevision: actual?.revision, phase: actual?.phase },
  );
