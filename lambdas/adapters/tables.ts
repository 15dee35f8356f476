import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CAPTURE_REQUEST_INDEX, TABLE_KEYS } from '#contracts';

export { TABLE_KEYS };

export type TableRole = 'registry' | 'captures' | 'drift' | 'feedback';

/** The table as the local twin creates it in dynalite; the CDK Data stack builds the same keys from `TABLE_KEYS`. */
export const tableDefinition = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  AttributeDefinitions: [
    { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
    { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
    { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
});

/** The captures table's `ByRequest` index as dynalite creates it (the Data stack builds the same). */
export const captureRequestIndex = {
  IndexName: CAPTURE_REQUEST_INDEX.name,
  KeySchema: [{ AttributeName: CAPTURE_REQUEST_INDEX.partitionKey, KeyType: 'HASH' as const }],
  Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...CAPTURE_REQUEST_INDEX.projected] },
};

/** The captures table: keys of every table plus the `ByRequest` index. */
export const capturesTableDefinition = (tableName: string): CreateTableCommandInput => {
  const base = tableDefinition(tableName);
  return {
    ...base,
    AttributeDefinitions: [
      ...(base.AttributeDefinitions ?? []),
      { AttributeName: CAPTURE_REQUEST_INDEX.partitionKey, AttributeType: 'S' },
    ],
    GlobalSecondaryIndexes: [captureRequestIndex],
  };
};
