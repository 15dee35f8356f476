import type { Manifest, ModelPackage } from './model/manifest.ts';

/** Which model version a caller wants: an explicit version wins over an alias. */
export interface ModelRef {
  readonly version?: number;
  readonly alias?: string;
}

/** What the registry says about a version, enough to fetch and verify its package. */
export interface ResolvedModel {
  readonly name: string;
  readonly version: number;
  readonly artifactUri: string;
  readonly sha256: string;
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

export type { Manifest, ModelPackage };
