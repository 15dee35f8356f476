import type { DriftReport, FeatureReport } from '#core/drift/report.ts';
import type { Manifest, ModelPackage } from '#core/model/manifest.ts';

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

/**
 * The capture record: one scored row as kept for drift, quality and release judgement.
 * This is a contract shared by the score path (writer), the drift evaluator, retraining
 * (training windows, feedback joins) and releases (per-version judgement, shadow).
 */
export interface CapturedRow {
  readonly model: string;
  /** The model version that produced `score` (blue or green during a release). */
  readonly version: number;
  readonly at: string;
  readonly requestId: string;
  readonly index: number;
  readonly features: Record<string, number>;
  readonly score: number;
  readonly anomaly: boolean;
  /**
   * Probability with which this row was kept, in (0, 1]: the model's sample rate, or 1 for
   * rows kept regardless of it (e.g. anomalies). Readers weight a row by `1 / sampleRate`.
   * Absent on captures written before the field existed: read as 1.
   */
  readonly sampleRate?: number;
  /** The release candidate's result on the same row during a shadow phase (never returned to the caller). */
  readonly shadow?: { readonly version: number; readonly score: number; readonly anomaly: boolean };
}

/**
 * What became of the rows handed to a capture path. Every scored row is counted in
 * exactly one bucket — the no-loss invariant (metric names in `contracts.ts` METRICS):
 * `scored = written + parked + sampledOut + lost`.
 */
export interface CaptureCounts {
  readonly scored: number;
  /** Stored where readers find them. */
  readonly written: number;
  /** Not stored yet, but kept durably for a later retry (e.g. a dead-letter queue or spool). */
  readonly parked: number;
  /** Left out by sampling, on purpose. */
  readonly sampledOut: number;
  /** Given up on, and counted: the only bucket an alarm must keep at zero. */
  readonly lost: number;
}

/** Outcome of one `CaptureSink.write`. */
export interface CaptureWriteResult {
  readonly written: number;
  readonly parked: number;
  readonly lost: number;
  /** Why rows were parked or lost (the real error name/message), for the log. */
  readonly reason?: string;
}

/** Where sampled scored rows go. Failures are reported in the result, never thrown to the scorer. */
export interface CaptureSink {
  write(rows: readonly CapturedRow[]): Promise<CaptureWriteResult>;
}

/** Reads captured rows back for drift evaluation. */
export interface CaptureReader {
  /** Rows of `model` captured at from ≤ at < to, oldest first. */
  readWindow(model: string, from: string | Date, to: string | Date): Promise<CapturedRow[]>;
}

/** Reads the newest captured rows back (the captures API: the console's Explain page). */
export interface RecentCaptureReader {
  /**
   * At most `limit` rows of `model` captured at from ≤ at < to, **newest first**. Reads hour
   * partitions backwards from `to` and stops at the first hour that completes `limit`, so a
   * busy window costs an hour's partitions, not the whole window.
   */
  readRecent(
    model: string,
    opts: { readonly from: string | Date; readonly to: string | Date; readonly limit: number },
  ): Promise<CapturedRow[]>;
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

/** Where and how to upload a zipped package that is too big for a request body. */
export interface UploadTicket {
  /** PUT the zip's bytes here (a presigned S3 URL in AWS; the twin's own upload route locally). */
  readonly uploadUrl: string;
  readonly method: 'PUT';
  /** Headers the PUT must send exactly (they are part of the signature). */
  readonly headers: Readonly<Record<string, string>>;
  /** Register the upload afterwards with `POST /v1/models/{model}/versions { "uri": <this> }`. */
  readonly uri: string;
  readonly expiresAt: string;
}

/** The staging area for uploaded package zips (an S3 prefix in AWS, a directory on the twin). */
export interface PackageStaging {
  /** A fresh upload location for one zip of `model`. */
  createUpload(model: string): Promise<UploadTicket>;
  /**
   * Reads a staged zip.
   * @throws VigilError BadRequest when `uri` is not inside this staging area | NotFound
   */
  read(uri: string): Promise<Uint8Array>;
}

/**
 * How much of a report was kept when it was stored:
 * - `full`: every feature with every test's numbers (what `buildDriftReport` returns);
 * - `summary`: every feature, each test cut down to its headline numbers and vote, numbers
 *   rounded to 4 significant digits;
 * - `verdicts`: every feature's verdict (votes, score, effect, 4 significant digits) without the tests;
 * - `partial`: verdicts of the drifted / highest-scoring features only (see `omittedFeatures`).
 */
export type ReportDetail = 'full' | 'summary' | 'verdicts' | 'partial';

/** A drift report as stored and listed. */
export interface StoredDriftReport extends Omit<DriftReport, 'features'> {
  readonly id: string;
  /** When the evaluation ran (ISO); orders the reports of a model. */
  readonly createdAt: string;
  readonly detail: ReportDetail;
  /** Features left out of `features` (only with detail `partial`). */
  readonly omittedFeatures: number;
  /** Per-feature results; with reduced detail, a subset of each `FeatureReport`'s fields. */
  readonly features: Record<string, Partial<FeatureReport> & Pick<FeatureReport, 'status' | 'drifted'>>;
}

/** Where drift reports are kept (the evaluator writes, the reports API reads). */
export interface DriftReportStore {
  /** Stores a report and returns it as stored (id, createdAt, detail). */
  put(
    report: DriftReport,
    opts?: { readonly id?: string; readonly createdAt?: string },
  ): Promise<StoredDriftReport>;
  /** The newest `limit` reports of a model, newest first. */
  list(model: string, opts?: { readonly limit?: number }): Promise<StoredDriftReport[]>;
}

/** EMF units Vigil emits (a subset of CloudWatch's). */
export type MetricUnit = 'Count' | 'None' | 'Milliseconds';

/** One metric value. @default unit Count */
export interface MetricDatum {
  readonly name: string;
  readonly value: number;
  readonly unit?: MetricUnit;
}

/**
 * Where metrics go (EMF through Powertools in AWS and on the twin). One `emit` is one record:
 * its values share exactly `dimensions` (plus the service dimension every record carries) and
 * are written at once, so concurrent requests in one process (`vigil serve --aws`, the twin)
 * never mix their dimensions or values.
 */
export interface MetricsSink {
  /**
   * One record of `data` under `dimensions`, and under each set of `alsoBy` too (EMF dimension
   * sets of the same record: the values are counted once per set, at no extra line).
   */
  emit(
    data: readonly MetricDatum[],
    dimensions?: Readonly<Record<string, string>>,
    alsoBy?: readonly Readonly<Record<string, string>>[],
  ): void;
}

/** Structured log attributes; an `error` attribute holding an Error is logged with its stack. */
export type LogAttributes = Record<string, unknown>;

/** Structured logger (Powertools in AWS and on the twin). Never give it secrets. */
export interface Logger {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}
