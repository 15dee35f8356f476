import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VigilError } from '#core/errors.ts';
import type { BlobStore } from '#core/retrain/ports.ts';

/**
 * Filesystem `BlobStore` for the local twin: `put` writes under `root` (beside the
 * artifact store's packages) and returns a `file://` URI. `get` also reads a
 * user-supplied dataset by path or `file://` URI: on the twin the operator who
 * names a file already has the machine.
 */
export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(opts: { readonly root: string }) {
    this.root = resolve(opts.root);
  }

  async put(key: string, body: Uint8Array | string): Promise<string> {
    const path = resolve(this.root, key);
    const rel = relative(this.root, path);
    if (isAbsolute(key) || rel === '' || rel.startsWith('..') || rel.startsWith(sep)) {
      throw new VigilError('BadRequest', `Blob key '${key}' is outside the store`, { key });
    }
    await mkdir(dirname(path), { recursive: true });
    // Write then rename: a reader never sees half a file.
    const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, body);
    await rename(tmp, path);
    return pathToFileURL(path).href;
  }

  async get(uri: string): Promise<Uint8Array> {
    let path: string;
    try {
      path = uri.startsWith('file://') ? fileURLToPath(uri) : resolve(uri);
    } catch {
      throw new VigilError('BadRequest', `Not a file path or file:// URI: '${uri}'`, { uri });
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
      throw new VigilError('BadRequest', `The local twin reads files only, not '${uri}'`, { uri });
    }
    try {
      return await readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR')
        throw new VigilError('NotFound', `No file at '${uri}'`, { uri });
      throw e;
    }
  }

  /** Where `put(key)` writes (tests). */
  pathOf(key: string): string {
    return join(this.root, key);
  }
}
