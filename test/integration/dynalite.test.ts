import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTables, type LocalDynamo, startDynalite } from '../../local/dynalite.ts';

describe('local dynalite bootstrap', () => {
  let db: LocalDynamo;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => db.close());

  it('creates tables idempotently', async () => {
    await ensureTables(db.endpoint, ['tbl-a', 'tbl-b']);
    await ensureTables(db.endpoint, ['tbl-a', 'tbl-b', 'tbl-c']);
    const client = new DynamoDBClient({
      endpoint: db.endpoint,
      region: 'local',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const out = await client.send(new ListTablesCommand({}));
    expect(out.TableNames?.sort()).toEqual(['tbl-a', 'tbl-b', 'tbl-c']);
    client.destroy();
  });
});
