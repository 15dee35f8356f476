import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConflictError, VigilError } from '#core/errors.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { decodePackage, encodePackage, PACKAGE_FILES, sha256Hex } from '#core/model/package-io.ts';
import type { ArtifactStore } from '#core/ports.ts';
import { assertModelName, assertVersionNumber } from '#core/registry/rules.ts';

/**
 * Filesystem artifact store for the local twin: `<root>/<name>/<version>/`
 * holding `model.onnx` and `manifest.json`, addressed as `file://` URIs.
 * Packages are written to a temporary directory and renamed into place, so a
 * reader never sees half a package; a version directory is never overwritten
 * with different content (versions are immutable).
 */
export class FsArtifactStore implements ArtifactStore {
  readonly root: string;

  constructor(opts: { readonly root: string }) {
    this.root = resolve(opts.root);
  }

  /** `file://` URI of a version's package directory. */
  uriFor(name: string, version: number): string {
    return pathToFileURL(this.#dir(name, version)).href;
  }

  /**
   * Writes the package (after verifying its sha256) and returns its URI.
   * Idempotent for identical content.
   * @throws IntegrityError | ConflictError when the version already holds different bytes.
   */
  async putPackage(name: string, version: number, pkg: ModelPackage): Promise<string> {
    assertModelName(name);
    assertVersionNumber(version);
    const files = encodePackage(pkg);
    const dir = this.#dir(name, version);
    const uri = pathToFileURL(dir).href;
    if (await this.#sameContent(dir, files)) return uri;
    const tmp = join(this.root, name, `.tmp-${version}-${randomUUID()}`);
    await mkdir(tmp, { recursive: true });
    try {
      await writeFile(join(tmp, PACKAGE_FILES.model), files.onnx);
      await writeFile(join(tmp, PACKAGE_FILES.manifest), files.manifest);
      try {
        await rename(tmp, dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        // Lost a race with another writer of the same version: fine only if it wrote the same bytes.
        if (!(await this.#sameContent(dir, files))) throw immutable(name, version);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return uri;
  }

  /**
   * Reads and verifies a package.
   * @throws VigilError BadRequest (URI outside the store) | NotFound | InvalidModel | IntegrityError
   */
  async getPackage(uri: string): Promise<ModelPackage> {
    const dir = this.#dirOf(uri);
    const [manifest, onnx] = await Promise.all([
      readOrNotFound(join(dir, PACKAGE_FILES.manifest), uri),
      readOrNotFound(join(dir, PACKAGE_FILES.model), uri),
    ]);
    return decodePackage({ manifest, onnx }, uri);
  }

  #dir(name: string, version: number): string {
    return join(this.root, name, String(version));
  }

  #dirOf(uri: string): string {
    let path: string;
    try {
      if (!uri.startsWith('file://')) throw new Error('not a file URI');
      path = resolve(fileURLToPath(uri));
    } catch {
      throw new VigilError('BadRequest', `Not a file:// package URI: '${uri}'`, { uri });
    }
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || rel.startsWith(sep) || resolve(this.root, rel) !== path) {
      throw new VigilError('BadRequest', `Package URI '${uri}' is outside the artifact store`, { uri });
    }
    return path;
  }

  async #sameContent(dir: string, files: { manifest: Uint8Array; onnx: Uint8Array }): Promise<boolean> {
    let existing: { manifest: Buffer; onnx: Buffer };
    try {
      existing = {
        manifest: await readFile(join(dir, PACKAGE_FILES.manifest)),
        onnx: await readFile(join(dir, PACKAGE_FILES.model)),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    if (
      Buffer.compare(existing.manifest, files.manifest) === 0 &&
      sha256Hex(existing.onnx) === sha256Hex(files.onnx)
    ) {
      return true;
    }
    throw immutable(dir, undefined);
  }
}

const immutable = (what: string, version: number | undefined) =>
  new ConflictError(
    `Package ${version === undefined ? `at ${what}` : `'${what}' version ${version}`} already exists with different content; versions are immutable`,
    { package: what, ...(version !== undefined ? { version } : {}) },
  );

async function readOrNotFound(path: string, uri: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new VigilError('NotFound', `Package '${uri}' is missing ${path.split(sep).at(-1)}`, { uri });
    }
    throw e;
  }
}
