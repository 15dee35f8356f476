import { createServer } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '#adapters/tables.ts';

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

/** Creates the named tables if they do not exist yet (idempotent). */
export async function ensureTables(endpoint: string, tableNames: readonly string[]): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const name of tableNames) {
      try {
        await client.send(new DescribeTableCommand({ TableName: name }));
      } catch (e) {
        if ((e as { name?: string }).name !== 'ResourceNotFoundException') throw e;
        await client.send(new CreateTableCommand(tableDefinition(name)));
      }
    }
  } finally {
    client.destroy();
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
