import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import type { Clock } from '#core/registry/types.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';

let counter = 0;

/** A fresh registry table on a shared in-memory dynalite: each test gets its own table. */
export async function freshRegistry(db: LocalDynamo, clock: Clock, onWarning?: (m: string) => void) {
  const tableName = `registry-${process.pid}-${++counter}`;
  await ensureTables(db.endpoint, [tableName]);
  const client = documentClient(db.endpoint);
  const registry = new DynamoRegistry({ client, tableName, clock, onWarning });
  return { registry, client, tableName };
}

export { startDynalite };
