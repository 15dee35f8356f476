import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { ensureTables, startDynalite } from '../../local/dynalite.ts';
import { LOCAL_TABLES } from '../../local/twin.ts';
import { modelsCommand } from './models.ts';

/**
 * `vigil models …` against the local twin's state. When the twin is running
 * it talks to the twin's dynalite (endpoint file under the data dir);
 * otherwise it opens the data directory itself.
 */
export async function modelsCli(argv: string[]): Promise<number> {
  const dataDir = path.resolve(process.env.VIGIL_DATA_DIR ?? '.vigil');
  const endpointFile = path.join(dataDir, 'dynamodb.endpoint');
  let endpoint = process.env.VIGIL_DYNAMODB_ENDPOINT;
  let close: (() => Promise<void>) | undefined;
  if (!endpoint && existsSync(endpointFile)) {
    const candidate = (await readFile(endpointFile, 'utf8')).trim();
    if (await reachable(candidate)) endpoint = candidate;
  }
  if (!endpoint) {
    const db = await startDynalite({ path: path.join(dataDir, 'dynamodb') });
    await ensureTables(db.endpoint, Object.values(LOCAL_TABLES));
    endpoint = db.endpoint;
    close = db.close;
  }
  try {
    const registry = new DynamoRegistry({
      client: documentClient(endpoint),
      tableName: LOCAL_TABLES.registry,
    });
    const store = new FsArtifactStore({ root: path.join(dataDir, 'artifacts') });
    return await modelsCommand(argv, { registry, store });
  } finally {
    await close?.();
  }
}

async function reachable(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { method: 'GET', signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}
