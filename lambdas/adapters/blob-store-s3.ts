import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { VigilError } from '#core/errors.ts';
import type { BlobStore } from '#core/retrain/ports.ts';

/**
 * S3 `BlobStore` over the artifact bucket: retraining's datasets and staged
 * candidates live under `retraining/`, user datasets are read from the same bucket
 * (the functions' roles reach no other bucket, so another bucket is refused
 * with a message rather than an AccessDenied). Encryption is the bucket's default (KMS).
 */
export class S3BlobStore implements BlobStore {
  readonly #client: Pick<S3Client, 'send'>;
  readonly #bucket: string;

  constructor(opts: { readonly client: Pick<S3Client, 'send'>; readonly bucket: string }) {
    this.#client = opts.client;
    this.#bucket = opts.bucket;
  }

  async put(key: string, body: Uint8Array | string): Promise<string> {
    if (key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new VigilError('BadRequest', `Invalid blob key '${key}'`, { key });
    }
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body }));
    return `s3://${this.#bucket}/${key}`;
  }

  async get(uri: string): Promise<Uint8Array> {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) throw new VigilError('BadRequest', `Not an s3:// URI: '${uri}'`, { uri });
    if (m[1] !== this.#bucket) {
      throw new VigilError(
        'BadRequest',
        `Datasets are read from the artifact bucket '${this.#bucket}' only`,
        { uri },
      );
    }
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
      if (!out.Body) throw new VigilError('NotFound', `No object at '${uri}'`, { uri });
      return await out.Body.transformToByteArray();
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey')
        throw new VigilError('NotFound', `No object at '${uri}'`, { uri });
      throw e;
    }
  }
}
