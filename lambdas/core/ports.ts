import type { Manifest, ModelPackage } from './model/manifest.ts';

/** Which model version a caller wants: an explicit version wins over an alias. */
export interface ModelRef {
  readonly version?: number;
  readonly alias?: string;
  /**
   * The caller chose `version` (e.g. `?version=N`): serve it only if Approved. Pinned
   * release functions (`MODEL_VERSION`) leave this unset: the release process chose it.
   */
  readonly approvedOnly?: boolean;
}

/** What the registry says about a version, enough to fetch and verify its package. */
export interface ResolvedModel {
  readonly name: string;
  readonly version: number;
  readonly artifactUri: string;
  /** sha256 of the version's model.onnx, recorded at registration. */
  readonly sha256: string;
  /** Approval state, where the resolver tracks one (the registry does). */
  readonly approval?: 'PendingManualApproval' | 'Approved' | 'Rejected';
  /** The served fields of the manifest as registered, so a package edited later is refused. */
  readonly summary?: {
    readonly algorithm: string;
    readonly features: readonly string[];
    readonly threshold: number;
  };
}

/** Resolves a model name + ref to a concrete version. Implemented by the registry. */
export interface ModelResolver {
  /** @throws ModelNotFoundError | VersionNotFoundError */
  resolve(model: string, ref: ModelRef): Promise<ResolvedModel>;
}

/** Stores and fetches model packages; verifies sha256 on read. */
export interface ArtifactStore {
  /** Writes a package and returns its URI. */
  putPackage(name: string, version: number, pkg: ModelPackage): Promise<string>;
  /** @throws IntegrityError when the bytes do not match the manifest's sha256. */
  getPackage(uri: string): Promise<ModelPackage>;
}

/** One scored row as captured for drift evaluation. */
export interface CapturedRow {
  readonly model: string;
  readonly version: number;
  readonly at: string;
  readonly requestId: string;
  readonly index: number;
  readonly features: Record<string, number>;
  readonly score: number;
  readonly anomaly: boolean;
}

/** Where sampled scored rows go. Failures are reported, never thrown to the scorer. */
export interface CaptureSink {
  write(rows: readonly CapturedRow[]): Promise<{ written: number; failed: number }>;
}

/** Reads captured rows back for drift evaluation. */
export interface CaptureReader {
  /** Rows of `model` captured at from ≤ at < to, oldest first. */
  readWindow(model: string, from: string | Date, to: string | Date): Promise<CapturedRow[]>;
}

export type { Manifest, ModelPackage };

/** A domain event for the bus (EventBridge in AWS, a JSON-lines file on the local twin). */
export interface DomainEvent {
  readonly source: string;
  readonly detailType: string;
  /** JSON-serialisable payload (EventBridge limits an entry to 256 KB). */
  readonly detail: Record<string, unknown>;
  /** ISO time of the event; the publisher's clock when absent. */
  readonly time?: string;
}

/**
 * Publishes domain events. Resolves only when every event was accepted;
 * otherwise rejects naming the events that were not (nothing silently dropped).
 */
export interface EventPublisher {
  publish(events: readonly DomainEvent[]): Promise<void>;
}
