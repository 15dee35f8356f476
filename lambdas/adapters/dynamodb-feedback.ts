import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { FEEDBACK_KEYS, TABLE_KEYS } from '#contracts';
import type { LabelRecord } from '#core/feedback/labels.ts';
import type { FeedbackStore } from '#core/feedback/ports.ts';

export interface DynamoFeedbackStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

const isConditionFailure = (e: unknown): boolean =>
  (e as { name?: string }).name === 'ConditionalCheckFailedException';

/** An item back to a record; keys and unknown attributes dropped. */
function recordOf(item: Record<string, unknown>): LabelRecord {
  return {
    model: String(item.model),
    ...(item.version !== undefined ? { version: Number(item.version) } : {}),
    requestId: String(item.requestId),
    index: Number(item.index),
    label: item.label as LabelRecord['label'],
    capture: item.capture as LabelRecord['capture'],
    ...(item.predictedAt !== undefined ? { predictedAt: String(item.predictedAt) } : {}),
    labelledAt: String(item.labelledAt),
    ...(item.labelledBy !== undefined ? { labelledBy: String(item.labelledBy) } : {}),
    createdAt: String(item.createdAt),
    revision: Number(item.revision),
    history: Array.isArray(item.history) ? (item.history as LabelRecord['history']) : [],
  };
}

/**
 * `FeedbackStore` over the feedback table (`FEEDBACK_KEYS`): one item per labelled row, written
 * with a condition on its revision, so two people labelling the same row at once never lose a
 * change (the loser re-reads and decides again).
 */
export class DynamoFeedbackStore implements FeedbackStore {
  constructor(private readonly o: DynamoFeedbackStoreOptions) {}

  private key(model: string, requestId: string, index: number) {
    return {
      [TABLE_KEYS.partitionKey]: FEEDBACK_KEYS.partition(model),
      [TABLE_KEYS.sortKey]: FEEDBACK_KEYS.sort(requestId, index),
    };
  }

  async get(model: string, requestId: string, index: number): Promise<LabelRecord | undefined> {
    const res = await this.o.client.send(
      new GetCommand({
        TableName: this.o.tableName,
        Key: this.key(model, requestId, index),
        ConsistentRead: true,
      }),
    );
    return res.Item ? recordOf(res.Item) : undefined;
  }

  async put(record: LabelRecord, expectedRevision: number | null): Promise<boolean> {
    try {
      await this.o.client.send(
        new PutCommand({
          TableName: this.o.tableName,
          Item: { ...this.key(record.model, record.requestId, record.index), ...record },
          ...(expectedRevision === null
            ? {
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
              }
            : {
                ConditionExpression: '#rev = :rev',
                ExpressionAttributeNames: { '#rev': 'revision' },
                ExpressionAttributeValues: { ':rev': expectedRevision },
              }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async list(model: string): Promise<LabelRecord[]> {
    const out: LabelRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.o.client.send(
        new QueryCommand({
          TableName: this.o.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':pk': FEEDBACK_KEYS.partition(model) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) out.push(recordOf(item));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }
}
