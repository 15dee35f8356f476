import { unzipSync, zipSync } from 'fflate';
import { VigilError } from '#core/errors.ts';
import type { ModelPackage } from './manifest.ts';
import { decodePackage, encodePackage, PACKAGE_FILES } from './package-io.ts';

/**
 * A model package as one zip file (`model.onnx` + `manifest.json` at its root,
 * or inside one top-level directory, as `zip -r pkg.zip mymodel/` makes it):
 * the upload format of the control-plane API.
 */

/** Most bytes a package may inflate to; a zip bomb is refused before it is expanded further. */
export const MAX_UNZIPPED_BYTES = 512 * 1024 * 1024;

/** Zips a package's two files (the onnx stored uncompressed-fast, the manifest deflated). */
export function zipPackage(pkg: ModelPackage): Uint8Array {
  const files = encodePackage(pkg);
  return zipFiles(files);
}

/** Zips the two files' bytes as they are (the CLI zips a directory without re-encoding it). */
export function zipFiles(files: { manifest: Uint8Array; onnx: Uint8Array }): Uint8Array {
  return zipSync({
    [PACKAGE_FILES.manifest]: [files.manifest, { level: 6 }],
    [PACKAGE_FILES.model]: [files.onnx, { level: 1 }],
  });
}

/**
 * Reads and verifies a zipped package.
 * @throws VigilError BadRequest (not a zip, files missing) | PayloadTooLarge | InvalidModel | IntegrityError
 */
export function unzipPackage(zip: Uint8Array, source = 'upload'): ModelPackage {
  let total = 0;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip, {
      filter: (f) => {
        total += f.originalSize;
        if (total > MAX_UNZIPPED_BYTES) {
          throw new VigilError('PayloadTooLarge', `${source} inflates beyond ${MAX_UNZIPPED_BYTES} bytes`);
        }
        return /(^|\/)(model\.onnx|manifest\.json)$/.test(f.name) && !f.name.startsWith('__MACOSX/');
      },
    });
  } catch (e) {
    if (e instanceof VigilError) throw e;
    throw new VigilError('BadRequest', `${source} is not a valid zip file: ${(e as Error).message}`);
  }
  const find = (file: string) => {
    const names = Object.keys(entries).filter((n) => n === file || /^[^/]+\/[^/]+$/.test(n));
    const hit = names.filter((n) => n === file || n.endsWith(`/${file}`));
    if (hit.length !== 1) {
      throw new VigilError(
        'BadRequest',
        `${source} must hold exactly one ${file} at its root or in one top-level directory (found ${hit.length})`,
        { file },
      );
    }
    return entries[hit[0]] as Uint8Array;
  };
  return decodePackage({ manifest: find(PACKAGE_FILES.manifest), onnx: find(PACKAGE_FILES.model) }, source);
}
