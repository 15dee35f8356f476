import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CAPTURE_LAYOUT } from '#contracts';
import { type CapturePartitionReader, windowHours } from '#core/drift/partitions.ts';
import type { CapturedRow } from '#core/ports.ts';
import { captureRowOf } from './dynamodb-captures.ts';
import { TABLE_KEYS } from './tables.ts';

/**
 * Partitions of the DynamoDB capture path: every model-hour-shard item collection of the window
 * (`CAPTURE_LAYOUT.dynamoPartition`, all `shards` of each hour), each read with one paged Query.
 * Listing needs no I/O: the keys follow from the window and the shard count.
 */
export class DynamoCapturePartitions implements CapturePartitionReader {
  readonly source = 'dynamodb' as const;

  constructor(
    private readonly o: {
      readonly client: DynamoDBDocumentClient;
      readonly tableName: string;
      /** Write shards per model-hour, as the writers use them. @default 1 */
      readonly shards?: number;
      /** Items per Query page. @default 1000 */
      readonly pageSize?: number;
    },
  ) {}

  async listPartitions(model: string, from: Date, to: Date): Promise<string[]> {
    const shards = this.o.shards ?? 1;
    const out: string[] = [];
    for (const hour of windowHours(from, to)) {
      for (let s = 0; s < shards; s++) out.push(CAPTURE_LAYOUT.dynamoPartition(model, hour, s, shards));
    }
    return out;
  }

  async *readPartition(model: string, partition: string, from: Date, to: Date): AsyncIterable<CapturedRow[]> {
    // A child reads only its model's partitions: a forged item cannot make it read another's.
    if (!partition.startsWith(`CAP#${model}#`)) {
      throw new RangeError(`partition '${partition}' does not belong to model '${model}'`);
    }
    const lo = from.toISOString();
    const hi = to.toISOString();
    let key: Record<string, unknown> | undefined;
    do {
      const res = await this.o.client.send(
        new QueryCommand({
          TableName: this.o.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
          ExpressionAttributeValues: { ':pk': partition, ':lo': lo, ':hi': hi },
          ExclusiveStartKey: key,
          Limit: this.o.pageSize ?? 1000,
        }),
      );
      // SK starts with the ISO instant, so BETWEEN lets through a key at exactly `to`: dropped here.
      const rows = (res.Items ?? [])
        .filter((i) => typeof i.at === 'string' && i.at >= lo && i.at < hi)
        .map(captureRowOf);
      if (rows.length > 0) yield rows;
      key = res.LastEvaluatedKey;
    } while (key);
  }
}
