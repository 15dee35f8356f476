import { CAPTURE_LAYOUT, PRODUCTION_ALIAS } from '#contracts';
import { driftConfigForModel } from '#core/drift/config.ts';
import { type CapturePartitionReader, windowHours } from '#core/drift/partitions.ts';
import { reduceDriftSummaries } from '#core/drift/reduce.ts';
import { mergeSummaries, SummaryBuilder, type WindowSummary } from '#core/drift/summary.ts';
import { VigilError } from '#core/errors.ts';
import type { ArtifactStore, Manifest } from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import type { BlobStore } from '#core/retrain/ports.ts';
import { type DriftEvaluatorDeps, type DriftSummary, recordDriftReport } from './drift.ts';

/**
 * The plan of one distributed drift run, the state machine's input to every child and to the
 * reduce step. Small by design (a Step Functions state is limited to 256 KB): partitions are
 * listed here only for DynamoDB (hours × shards); the S3 branch's ItemReader lists objects under
 * `prefix` itself.
 */
export interface DriftPlan {
  readonly model: string;
  readonly version: number;
  readonly artifactUri: string;
  readonly features: readonly string[];
  readonly from: string;
  readonly to: string;
  /** Identifies this run's summaries in the artifact store. */
  readonly runId: string;
  readonly source: 'dynamodb' | 's3';
  /** DynamoDB: the model-hour-shard partition keys. */
  readonly partitions: readonly string[];
  /** S3: the common prefix of the window's Hive partitions (children skip other hours). */
  readonly prefix: string;
}

/** What one child returns: a pointer, never the summary (the Map's results share the 256 KB limit). */
export interface PartitionSummaryRef {
  readonly uri: string;
  readonly rows: number;
}

export interface DistributedDriftDeps
  extends Pick<DriftEvaluatorDeps, 'reports' | 'events' | 'metrics' | 'logger'> {
  readonly registry: Pick<ModelRegistry, 'resolve'>;
  readonly store: Pick<ArtifactStore, 'getPackage'>;
  readonly partitions: CapturePartitionReader;
  /** Where children write summaries (the artifact bucket's `drift-summaries/` prefix). */
  readonly summaries: BlobStore;
  readonly settings?: unknown;
  /** @default 60 */
  readonly windowMinutes?: number;
  readonly alias?: string;
  /** Reservoir capacity of each summary. @default DEFAULT_SUMMARY_CAPACITY */
  readonly capacity?: number;
  readonly now?: () => Date;
}

/** FNV-1a: a partition's reservoir seed, so re-running a child reproduces its summary. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** `captures/model=m/date=d/hour=h/…` → `d`T`h`, or undefined for a key outside the layout. */
function hourOfKey(key: string): string | undefined {
  const m = /\/date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(key);
  return m ? `${m[1]}T${m[2]}` : undefined;
}

/** The longest common prefix of the window's Hive partitions, cut back to a `/` boundary. */
function commonPrefix(model: string, hours: readonly string[]): string {
  const all = hours.map((h) => CAPTURE_LAYOUT.s3Partition(model, h));
  if (all.length === 0) return `${CAPTURE_LAYOUT.s3Prefix}model=${model}/`;
  let p = all[0];
  for (const s of all) while (!s.startsWith(p)) p = p.slice(0, -1);
  return p.slice(0, p.lastIndexOf('/') + 1);
}

/**
 * The three steps of the drift-summary state machine (`DRIFT_SUMMARY_TASKS`): `plan` (resolve the
 * model, fix the window, list DynamoDB partitions), `summarize` (one partition → a summary in the
 * artifact store, run by every Map child) and `reduce` (merge the summaries, build, store and
 * announce the report exactly as the in-memory evaluator does).
 */
export function createDistributedDrift(deps: DistributedDriftDeps) {
  const now = deps.now ?? (() => new Date());
  const windowMs = (deps.windowMinutes ?? 60) * 60_000;
  const manifests = new Map<string, Promise<Manifest>>();
  const manifestOf = (uri: string): Promise<Manifest> => {
    let p = manifests.get(uri);
    if (!p) {
      p = deps.store.getPackage(uri).then((pkg) => pkg.manifest);
      manifests.set(uri, p);
      p.catch(() => manifests.delete(uri));
    }
    return p;
  };

  const plan = async (input: { readonly model: string; readonly runId: string }): Promise<DriftPlan> => {
    const resolved = await deps.registry.resolve(input.model, { alias: deps.alias ?? PRODUCTION_ALIAS });
    const manifest = await manifestOf(resolved.artifactUri);
    const to = now();
    const from = new Date(to.getTime() - windowMs);
    const source = deps.partitions.source;
    return {
      model: input.model,
      version: resolved.version,
      artifactUri: resolved.artifactUri,
      features: [...manifest.features],
      from: from.toISOString(),
      to: to.toISOString(),
      runId: input.runId.replace(/[^A-Za-z0-9_-]/g, '_').slice(-80),
      source,
      partitions: source === 'dynamodb' ? await deps.partitions.listPartitions(input.model, from, to) : [],
      prefix: commonPrefix(input.model, windowHours(from, to)),
    };
  };

  const summarize = async (input: {
    readonly plan: DriftPlan;
    readonly partition: string;
    readonly capacity?: number;
  }): Promise<PartitionSummaryRef> => {
    const { plan: p, partition } = input;
    const from = new Date(p.from);
    const to = new Date(p.to);
    const builder = new SummaryBuilder(p.features, {
      seed: hash32(`${p.runId}/${partition}`),
      capacity: input.capacity ?? deps.capacity,
    });
    // An S3 ItemReader lists every object under the common prefix: skip other hours unread.
    const hour = p.source === 's3' ? hourOfKey(partition) : undefined;
    const inWindow = hour === undefined || windowHours(from, to).includes(hour);
    if (inWindow) {
      for await (const page of deps.partitions.readPartition(p.model, partition, from, to)) {
        for (const row of page) builder.add(row);
      }
    }
    const summary = builder.build();
    const key = `drift-summaries/${p.model}/${p.runId}/${hash32(partition).toString(16).padStart(8, '0')}.json`;
    const uri = await deps.summaries.put(key, JSON.stringify(summary));
    return { uri, rows: summary.rows };
  };

  const reduce = async (input: {
    readonly plan: DriftPlan;
    readonly summaries: readonly PartitionSummaryRef[];
  }): Promise<DriftSummary> => {
    const { plan: p } = input;
    const manifest = await manifestOf(p.artifactUri);
    // Folded one summary at a time: the reduce step holds two summaries, never all P of them.
    let merged: WindowSummary | undefined;
    for (const ref of input.summaries) {
      const bytes = await deps.summaries.get(ref.uri);
      const next = JSON.parse(new TextDecoder().decode(bytes)) as WindowSummary;
      if (next.features?.join('\u0000') !== p.features.join('\u0000')) {
        throw new VigilError('BadRequest', 'summaries do not match the plan’s features', {
          runId: p.runId,
          uri: ref.uri,
        });
      }
      merged = merged ? mergeSummaries([merged, next]) : next;
    }
    const config = driftConfigForModel(deps.settings ?? {}, p.model);
    const window = { from: p.from, to: p.to };
    const named = { ...manifest, name: p.model, version: p.version };
    // No partition at all (an idle model, or an S3 prefix without objects): an empty window.
    const parsed = [merged ?? new SummaryBuilder(p.features, { seed: 0, capacity: deps.capacity }).build()];
    const report = reduceDriftSummaries({ manifest: named, summaries: parsed, window, config });
    return recordDriftReport(deps, { model: p.model, version: p.version, report, at: new Date(p.to) });
  };

  return { plan, summarize, reduce };
}
