import { ConflictError, VigilError } from '#core/errors.ts';
import type { CapturedRow } from '#core/ports.ts';
import type { AliasWrite, ModelRegistry, ModelVersion, StoredAlias } from '#core/registry/types.ts';
import type {
  AliasRouting,
  ReleaseMetricsReader,
  ReleaseStore,
  ScoreFunctionVersions,
} from '#core/release/ports.ts';
import {
  type ReleaseRecord,
  TERMINAL_RELEASE_PHASES,
  type VersionReadings,
  type VersionRef,
} from '#core/release/types.ts';

/**
 * Small in-memory stand-ins for the release's collaborators (the DynamoDB store, the Lambda
 * versions API, CloudWatch, the registry), written for the release use-case tests. They keep
 * the invariants the real adapters promise (one active release per model, revision guards,
 * no weight ≥ 1), so a use case that breaks them fails here too.
 */
export class MemoryReleaseStore implements ReleaseStore {
  readonly records = new Map<string, ReleaseRecord>();
  async begin(record: Omit<ReleaseRecord, 'revision'>): Promise<ReleaseRecord> {
    const active = await this.active(record.model);
    if (active)
      throw new ConflictError(`Release ${active.releaseId} of '${record.model}' is ${active.phase}`);
    const r = { ...record, revision: 1 };
    this.records.set(`${record.model}/${record.releaseId}`, r);
    return r;
  }
  async active(model: string) {
    return [...this.records.values()].find(
      (r) => r.model === model && !TERMINAL_RELEASE_PHASES.includes(r.phase),
    );
  }
  async get(model: string, id: string) {
    return this.records.get(`${model}/${id}`);
  }
  async list(model: string) {
    return [...this.records.values()].filter((r) => r.model === model).reverse();
  }
  async update(model: string, id: string, expect: number, patch: Partial<ReleaseRecord>) {
    const cur = this.records.get(`${model}/${id}`);
    if (!cur) throw new VigilError('NotFound', 'no release');
    if (cur.revision !== expect) throw new ConflictError('revision moved');
    const next = { ...cur, ...patch, revision: cur.revision + 1 };
    this.records.set(`${model}/${id}`, next);
    return next;
  }
}

export class FakeVersions implements ScoreFunctionVersions {
  primary = '7';
  codeSha256 = 'sha-blue';
  weights: Record<string, number> = {};
  revision = 1;
  next = 8;
  readonly pinned = new Map<string, number>();
  readonly retired: string[] = [];
  async live(): Promise<AliasRouting> {
    return {
      primaryVersion: this.primary,
      codeSha256: this.codeSha256,
      weights: { ...this.weights },
      revisionId: `r${this.revision}`,
    };
  }
  async publishPinned(input: { modelVersion: number; codeSha256: string }): Promise<VersionRef> {
    if (input.codeSha256 !== this.codeSha256) throw new ConflictError('code changed');
    const v = String(this.next++);
    this.pinned.set(v, input.modelVersion);
    return { functionVersion: v, modelVersion: input.modelVersion };
  }
  async route(v: string, weight: number, expect?: string): Promise<AliasRouting> {
    if (expect !== undefined && expect !== `r${this.revision}`)
      throw new ConflictError('alias revision moved');
    if (weight < 0 || weight >= 1) throw new RangeError(`weight ${weight}`);
    if (weight === 0) delete this.weights[v];
    else this.weights[v] = weight;
    this.revision++;
    return this.live();
  }
  async retire(v: string): Promise<void> {
    if (this.weights[v] !== undefined) throw new ConflictError(`version ${v} still routed`);
    if (!this.pinned.has(v)) throw new VigilError('NotFound', `no version ${v}`);
    this.pinned.delete(v);
    this.retired.push(v);
  }
}

/** Readings per window, as a function of which version and the weight green had. */
export class FakeMetrics implements ReleaseMetricsReader {
  constructor(public readings: (v: VersionRef, which: 'blue' | 'green') => Partial<VersionReadings>) {}
  readonly calls: Array<{ from: Date; to: Date }> = [];
  async read(q: { blue: VersionRef; green: VersionRef; from: Date; to: Date }) {
    this.calls.push({ from: q.from, to: q.to });
    const full = (v: VersionRef, which: 'blue' | 'green'): VersionReadings => ({
      ...v,
      invocations: 0,
      errors: 0,
      serverErrors: 0,
      dependencyErrors: 0,
      rowsScored: 0,
      anomalies: 0,
      captureErrors: 0,
      ...this.readings(v, which),
    });
    return { blue: full(q.blue, 'blue'), green: full(q.green, 'green') };
  }
}

/** The registry's alias and version items in memory (alias writes are compare-and-set). */
export class FakeRegistry implements Pick<ModelRegistry, 'getVersion' | 'getAlias' | 'writeAlias'> {
  readonly aliases = new Map<string, StoredAlias>();
  readonly writes: AliasWrite[] = [];
  /** Further fields of a version (metrics, lineage), by version number. */
  readonly details = new Map<number, Partial<ModelVersion>>();
  constructor(readonly versions: Record<number, ModelVersion['approval']>) {}
  async getVersion(name: string, version: number): Promise<ModelVersion> {
    const approval = this.versions[version];
    if (!approval) throw new VigilError('VersionNotFound', `no version ${version}`);
    return { ...this.details.get(version), name, version, approval } as ModelVersion;
  }
  async getAlias(model: string, alias: string) {
    return this.aliases.get(`${model}/${alias}`);
  }
  async writeAlias(model: string, alias: string, write: AliasWrite) {
    const cur = this.aliases.get(`${model}/${alias}`);
    if ((cur?.revision ?? 0) !== write.expectedRevision) throw new ConflictError('alias revision moved');
    const state = {
      name: model,
      alias,
      version: write.to as number,
      revision: (cur?.revision ?? 0) + 1,
      updatedAt: '',
    };
    this.aliases.set(`${model}/${alias}`, state);
    this.writes.push(write);
    return { state, changed: true };
  }
}

export const capture = (version: number, score: number, extra: Partial<CapturedRow> = {}): CapturedRow => ({
  model: 'cpu',
  version,
  at: '2026-01-01T00:00:00.000Z',
  requestId: 'r',
  index: 0,
  features: {},
  score,
  anomaly: score > 0.6,
  ...extra,
});
