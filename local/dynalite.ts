import { createServer } from 'node:net';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { capturesTableDefinition, tableDefinition } from '#adapters/tables.ts';
import { CAPTURE_REQUEST_INDEX } from '#contracts';

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts dynalite (a real DynamoDB API implementation) in-process on loopback.
 * With `path` the data persists in a LevelDB directory; without, it is in memory.
 */
export async function startDynalite(opts: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  // Imported here, not at the top: dynalite is a dev dependency, and the EKS scorer's image
  // (`vigil serve --aws`, production dependencies only) bundles this module without starting it.
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ path: opts.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Creates the named tables if they do not exist yet (idempotent). Tables named in
 * `capturesTables` get the captures table's `ByRequest` index too, added to an existing table
 * that lacks it (a state directory from before the index).
 */
export async function ensureTables(
  endpoint: string,
  tableNames: readonly string[],
  opts: { readonly capturesTables?: readonly string[] } = {},
): Promise<void> {
  const captures = new Set(opts.capturesTables ?? []);
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const name of tableNames) {
      let existing: Awaited<ReturnType<typeof describe>> | undefined;
      const describe = (n: string) => client.send(new DescribeTableCommand({ TableName: n }));
      try {
        existing = await describe(name);
      } catch (e) {
        if ((e as { name?: string }).name !== 'ResourceNotFoundException') throw e;
        await client.send(
          new CreateTableCommand(captures.has(name) ? capturesTableDefinition(name) : tableDefinition(name)),
        );
        continue;
      }
      const indexed = existing.Table?.GlobalSecondaryIndexes?.some(
        (i) => i.IndexName === CAPTURE_REQUEST_INDEX.name,
      );
      if (captures.has(name) && !indexed) await rebuildWithRequestIndex(client, name);
    }
  } finally {
    client.destroy();
  }
}

/**
 * A captures table from before the `ByRequest` index, rebuilt with it: dynalite cannot add an
 * index to an existing table (DynamoDB can, and the Data stack simply declares it), so the twin
 * reads the items, recreates the table and writes them back. Local state only.
 */
async function rebuildWithRequestIndex(client: DynamoDBClient, name: string): Promise<void> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: name, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  await client.send(new DeleteTableCommand({ TableName: name }));
  await client.send(new CreateTableCommand(capturesTableDefinition(name)));
  for (let i = 0; i < items.length; i += 25) {
    let pending: { PutRequest: { Item: Record<string, AttributeValue> } }[] = items
      .slice(i, i + 25)
      .map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [name]: pending } }));
      pending = (out.UnprocessedItems?.[name] ?? []) as typeof pending;
    }
  }
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}
