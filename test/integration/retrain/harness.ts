import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { FsBlobStore } from '#adapters/blob-store-fs.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { DynamoRetrainingLedger } from '#adapters/dynamodb-retraining.ts';
import { MemoryEventPublisher } from '#adapters/events.ts';
import { MemoryNotifier } from '#adapters/notifier.ts';
import { setAlias } from '#app/models.ts';
import { createRetrainSteps } from '#app/retrain.ts';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { buildIsolationForestPackage } from '#core/model/build.ts';
import { withVersion } from '#core/model/package-io.ts';
import type { CapturedRow, CaptureReader } from '#core/ports.ts';
import { summarizeManifest } from '#core/registry/rules.ts';
import { parseRetrainSettings } from '#core/retrain/config.ts';
import { ensureTables, type LocalDynamo } from '../../../local/dynalite.ts';

export const FEATURES = ['cpu', 'memory', 'network', 'disk_io', 'latency'];

/**
 * Rows with strong correlations (two latent factors), so that breaking them is
 * detectable: cpu ≈ memory ≈ z1, network ≈ disk_io ≈ z2, latency ≈ z1 + z2.
 * `shift` moves every feature by that many units (drifted traffic).
 */
export function correlatedRows(n: number, seed: number, shift = 0): Record<string, number>[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const z1 = rng.normal();
    const z2 = rng.normal();
    const e = () => 0.15 * rng.normal();
    return {
      cpu: 50 + 10 * (z1 + e()) + shift,
      memory: 60 + 8 * (z1 + e()) + shift,
      network: 400 + 50 * (z2 + e()) + shift,
      disk_io: 100 + 20 * (z2 + e()) + shift,
      latency: 30 + 5 * (z1 + z2 + e()) + shift,
    };
  });
}

export const columnsOf = (rows: Record<string, number>[]) =>
  FEATURES.map((f) => Float64Array.from(rows, (r) => r[f]));

/** Captures over `rows`, one a minute from `start`, every row kept (sampleRate 1) unless given. */
export function capturesOf(
  model: string,
  rows: Record<string, number>[],
  start: Date,
  sampleRate: (i: number) => number = () => 1,
): CapturedRow[] {
  return rows.map((features, i) => ({
    model,
    version: 1,
    at: new Date(start.getTime() + i * 60_000).toISOString(),
    requestId: `r${i}`,
    index: 0,
    features,
    score: 0.4,
    anomaly: false,
    sampleRate: sampleRate(i),
  }));
}

/** An in-memory capture table: the retraining steps only read windows of it. */
export class MemoryCaptures implements CaptureReader {
  rows: CapturedRow[] = [];
  async readWindow(model: string, from: string | Date, to: string | Date): Promise<CapturedRow[]> {
    const f = new Date(from).toISOString();
    const t = new Date(to).toISOString();
    return this.rows.filter((r) => r.model === model && r.at >= f && r.at < t);
  }
}

let counter = 0;

/** Everything the steps need, on a fresh registry table and a fresh directory. */
export async function retrainWorld(db: LocalDynamo, settings: unknown = {}) {
  const tableName = `retrain-${process.pid}-${++counter}`;
  await ensureTables(db.endpoint, [tableName]);
  const client = documentClient(db.endpoint);
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-retrain-'));
  const registry = new DynamoRegistry({ client, tableName });
  const store = new FsArtifactStore({ root: path.join(dir, 'artifacts') });
  const blobs = new FsBlobStore({ root: path.join(dir, 'artifacts') });
  const ledger = new DynamoRetrainingLedger({ client, tableName });
  const captures = new MemoryCaptures();
  const notifier = new MemoryNotifier();
  const events = new MemoryEventPublisher();
  const deps = {
    registry,
    store,
    blobs,
    captures,
    ledger,
    notifier,
    events,
    settings: parseRetrainSettings({ validation: { minRows: 200 }, ...(settings as object) }),
  };
  return {
    ...deps,
    dir,
    steps: createRetrainSteps(deps),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Trains, registers, approves and promotes version 1 of `model` on `rows`. */
export async function productionModel(
  world: Awaited<ReturnType<typeof retrainWorld>>,
  model: string,
  rows: Record<string, number>[],
) {
  const columns = columnsOf(rows);
  const forest = trainIsolationForest(columns, { seed: 7 });
  const pkg = buildIsolationForestPackage({
    name: model,
    features: FEATURES,
    columns,
    forest,
    contamination: 'auto',
    createdAt: '2025-01-01T00:00:00.000Z',
    dataSha256: createHash('sha256').update('v1').digest('hex'),
  });
  const v = await world.registry.register({
    name: model,
    sha256: pkg.manifest.sha256,
    summary: summarizeManifest(pkg.manifest),
    actor: 'test',
    store: (n) => world.store.putPackage(model, n, withVersion(pkg, n)),
  });
  await world.registry.approve(model, v.version, { actor: 'test' });
  await setAlias({ registry: world.registry }, model, 'production', v.version, {
    actor: 'test',
  });
  return v;
}
