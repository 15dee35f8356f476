import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { CaptureObjects } from './parquet-capture-partitions.ts';

/** The capture bucket's objects (ListObjectsV2 paged, GetObject). */
export class S3CaptureObjects implements CaptureObjects {
  constructor(private readonly o: { readonly client: Pick<S3Client, 'send'>; readonly bucket: string }) {}

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.o.client.send(
        new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const c of res.Contents ?? []) if (c.Key) out.push(c.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async get(key: string): Promise<Uint8Array> {
    const res = await this.o.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: key }));
    if (!res.Body) throw new Error(`empty object s3://${this.o.bucket}/${key}`);
    return res.Body.transformToByteArray();
  }
}

/** The twin's stand-in: the same keys as files under `root`. */
export class FsCaptureObjects implements CaptureObjects {
  readonly root: string;
  constructor(opts: { readonly root: string }) {
    this.root = resolve(opts.root);
  }

  async list(prefix: string): Promise<string[]> {
    // A prefix names a directory in the Hive layout (it ends with '/'): list that tree.
    const dir = resolve(this.root, prefix);
    if (!dir.startsWith(this.root)) return [];
    let entries: string[];
    try {
      entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return entries.map((p) => relative(this.root, p).split(sep).join('/')).sort();
  }

  async get(key: string): Promise<Uint8Array> {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new RangeError(`key '${key}' is outside the capture store`);
    return new Uint8Array(await readFile(path));
  }
}
