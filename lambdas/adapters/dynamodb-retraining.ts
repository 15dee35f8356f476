import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { assertModelName, padVersion } from '#core/registry/rules.ts';
import type {
  AcquireResult,
  ApprovalRequest,
  RetrainingHistoryEvent,
  RetrainingLedger,
  RetrainingLockHolder,
} from '#core/retrain/ports.ts';

/**
 * The retraining lock and history in the registry table (DESIGN.md §6 layout):
 *
 *   PK=MODEL#<name>  SK=LOCK#retraining        { executionArn, acquiredAt, leaseUntil }
 *                    SK=EVENT#<iso time>#<id>  retraining-started | -skipped | -finished
 *                    SK=APPROVAL#<0000001>     task token of a version waiting for approval
 *
 * The lock is one conditional write: taken when absent, when this execution
 * already holds it (a retried step), or when the holder is gone — its lease
 * has passed (the state machine's timeout has killed it) or `isRunning` says it
 * ended. Taking over is conditional on the old holder, so two contenders for a
 * dead lock cannot both win. History events use the registry's event item, so
 * `history()` lists them among the versions' and aliases' events.
 */
export class DynamoRetrainingLedger implements RetrainingLedger {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(opts: { readonly client: DynamoDBDocumentClient; readonly tableName: string }) {
    if (!opts.tableName) throw new Error('DynamoRetrainingLedger: tableName is required');
    this.#db = opts.client;
    this.#table = opts.tableName;
  }

  async acquire(
    model: string,
    executionArn: string,
    opts: Parameters<RetrainingLedger['acquire']>[2],
  ): Promise<AcquireResult> {
    assertModelName(model);
    const item: RetrainingLockHolder = {
      executionArn,
      acquiredAt: opts.now.toISOString(),
      leaseUntil: new Date(opts.now.getTime() + opts.leaseMs).toISOString(),
    };
    const put = (condition: string, values: Record<string, unknown>) =>
      this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...key(model), kind: 'lock', ...item },
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      );
    try {
      await put('attribute_not_exists(PK) OR executionArn = :me', { ':me': executionArn });
      return { acquired: true };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const holder = await this.#holder(model);
    if (!holder) return this.acquire(model, executionArn, opts);
    const dead =
      holder.leaseUntil <= opts.now.toISOString() ||
      (opts.isRunning !== undefined && !(await opts.isRunning(holder.executionArn)));
    if (!dead) return { acquired: false, holder };
    try {
      await put('executionArn = :old', { ':old': holder.executionArn });
      return { acquired: true, tookOverFrom: holder };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      // Someone else took the dead lock first: theirs now.
      const now = await this.#holder(model);
      return now ? { acquired: false, holder: now } : this.acquire(model, executionArn, opts);
    }
  }

  async release(model: string, executionArn: string): Promise<boolean> {
    assertModelName(model);
    try {
      await this.#db.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: key(model),
          ConditionExpression: 'executionArn = :me',
          ExpressionAttributeValues: { ':me': executionArn },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async appendEvent(model: string, e: RetrainingHistoryEvent): Promise<void> {
    assertModelName(model);
    // A retried step calls this again with a later time. The first call's time is kept in a
    // marker keyed by the event id alone, and the event item's key is built from it, so the
    // retry re-writes the same item instead of adding a second one.
    let at = e.at;
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { PK: `MODEL#${model}`, SK: `EVENTID#${e.id}`, kind: 'event-id', at },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const out = await this.#db.send(
        new GetCommand({
          TableName: this.#table,
          Key: { PK: `MODEL#${model}`, SK: `EVENTID#${e.id}` },
          ConsistentRead: true,
        }),
      );
      at = String(out.Item?.at ?? at);
    }
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { PK: `MODEL#${model}`, SK: `EVENT#${at}#${e.id}`, kind: 'event', ...e, at },
      }),
    );
  }

  async putApprovalRequest(model: string, version: number, r: ApprovalRequest): Promise<void> {
    assertModelName(model);
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { PK: `MODEL#${model}`, SK: `APPROVAL#${padVersion(version)}`, kind: 'approval-request', ...r },
      }),
    );
  }

  async getApprovalRequest(model: string, version: number): Promise<ApprovalRequest | undefined> {
    assertModelName(model);
    const out = await this.#db.send(
      new GetCommand({
        TableName: this.#table,
        Key: { PK: `MODEL#${model}`, SK: `APPROVAL#${padVersion(version)}` },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const { taskToken, executionArn, requestedAt } = out.Item as ApprovalRequest;
    return { taskToken, executionArn, requestedAt };
  }

  /** The current lock holder, if any. */
  async holder(model: string): Promise<RetrainingLockHolder | undefined> {
    assertModelName(model);
    return this.#holder(model);
  }

  async #holder(model: string): Promise<RetrainingLockHolder | undefined> {
    const out = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: key(model), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { executionArn, acquiredAt, leaseUntil } = out.Item as RetrainingLockHolder;
    return { executionArn, acquiredAt, leaseUntil };
  }
}

const key = (model: string) => ({ PK: `MODEL#${model}`, SK: 'LOCK#retraining' });

const isConditionFailure = (e: unknown): boolean =>
  (e as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
