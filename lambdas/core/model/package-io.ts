import { createHash } from 'node:crypto';
import { IntegrityError } from '#core/errors.ts';
import { type Manifest, type ModelPackage, parseManifest } from './manifest.ts';

// Validation lives beside the schema (manifest.ts), free of node:crypto, so the edge entry shares it.
export { parseManifest, validateManifest } from './manifest.ts';

/**
 * Serialising and verifying model packages (DESIGN.md §3), without any I/O:
 * the artifact stores read/write the bytes, this module decides whether they
 * form a valid package.
 */

/** File names inside a package directory / S3 prefix. */
export const PACKAGE_FILES = { model: 'model.onnx', manifest: 'manifest.json' } as const;

/** Lower-case hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** manifest.json as written to a store: stable, human-readable, newline-terminated. */
export function serializeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Checks that model.onnx hashes to the manifest's sha256.
 * @throws IntegrityError naming both digests.
 */
export function verifyPackage(pkg: ModelPackage, source = 'package'): ModelPackage {
  const actual = sha256Hex(pkg.onnx);
  if (actual !== pkg.manifest.sha256) {
    throw new IntegrityError(`sha256 of model.onnx in ${source} does not match its manifest`, {
      source,
      expected: pkg.manifest.sha256,
      actual,
    });
  }
  return pkg;
}

/**
 * Builds a verified package from the two files' bytes.
 * @throws VigilError InvalidModel | IntegrityError
 */
export function decodePackage(
  files: { manifest: Uint8Array | string; onnx: Uint8Array },
  source?: string,
): ModelPackage {
  const manifest = parseManifest(files.manifest);
  return verifyPackage({ manifest, onnx: files.onnx }, source);
}

/**
 * Serialises a package for a store, after verifying it.
 * @throws IntegrityError when the package is inconsistent (never store bad bytes).
 */
export function encodePackage(pkg: ModelPackage): { manifest: Uint8Array; onnx: Uint8Array } {
  verifyPackage(pkg);
  return { manifest: serializeManifest(pkg.manifest), onnx: pkg.onnx };
}

/** The package with its manifest stamped with a registry version (the sha256 of model.onnx is unaffected). */
export function withVersion(pkg: ModelPackage, version: number): ModelPackage {
  return { manifest: { ...pkg.manifest, version }, onnx: pkg.onnx };
}
