import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * Key layout of Vigil's tables, used to create them locally (dynalite) and
 * mirrored by the CDK Data stack. All tables use string `PK`/`SK`.
 *
 * - registry: `MODEL#<name>` / `META | VERSION#<000000n> | ALIAS#<name> | EVENT#<iso>#<id>`
 * - captures: `CAP#<model>#<yyyy-mm-ddThh>` / `<iso>#<requestId>#<index>`, TTL attribute `ttl`
 * - drift:    `MODEL#<name>` / `REPORT#<iso>#<id>`
 */
export const TABLE_KEYS = { partitionKey: 'PK', sortKey: 'SK', ttlAttribute: 'ttl' } as const;

export type TableRole = 'registry' | 'captures' | 'drift';

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
