import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { VigilError } from '#core/errors.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { decodePackage, PACKAGE_FILES, serializeManifest } from '#core/model/package-io.ts';

/**
 * Reads and verifies a package directory (`model.onnx` + `manifest.json`).
 * @throws VigilError BadRequest (missing file) | InvalidModel | IntegrityError
 */
export async function readPackageDir(dir: string): Promise<ModelPackage> {
  const read = async (file: string) => {
    try {
      return await readFile(path.join(dir, file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new VigilError('BadRequest', `Package directory '${dir}' has no ${file}`, { dir, file });
      }
      throw e;
    }
  };
  const [manifest, onnx] = await Promise.all([read(PACKAGE_FILES.manifest), read(PACKAGE_FILES.model)]);
  return decodePackage({ manifest, onnx: new Uint8Array(onnx) }, dir);
}

/** Writes a package as a directory: model.onnx + manifest.json. */
export async function writePackageDir(dir: string, pkg: ModelPackage): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, PACKAGE_FILES.model), pkg.onnx);
  await writeFile(path.join(dir, PACKAGE_FILES.manifest), serializeManifest(pkg.manifest));
}
