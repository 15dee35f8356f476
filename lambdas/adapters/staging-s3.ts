import { randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { STAGING_PREFIX } from '#contracts';
import { VigilError } from '#core/errors.ts';
import type { PackageStaging, UploadTicket } from '#core/ports.ts';
import { assertModelName } from '#core/registry/rules.ts';

/** Most bytes a staged zip may have (S3 itself takes up to 5 GB per PUT). */
export const MAX_STAGED_BYTES = 1024 * 1024 * 1024;

/** Seconds a presigned upload URL stays valid. */
export const UPLOAD_URL_SECONDS = 900;

/** Re-exported: the client settings a presigning S3 client needs (see `s3-client.ts`). */
export { PRESIGN_CLIENT_CONFIG } from './s3-client.ts';

/** `<prefix><model>/<id>.zip`: one object per upload, never overwritten (the id is random). */
export function stagingKey(prefix: string, model: string, id: string): string {
  assertModelName(model);
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`stagingKey: invalid upload id '${id}'`);
  return `${prefix}${model}/${id}.zip`;
}

/**
 * Parses an `s3://bucket/<prefix><model>/<id>.zip` URI, refusing anything outside this bucket's
 * staging prefix (a caller must not make the API read arbitrary objects).
 * @throws VigilError BadRequest
 */
export function parseStagingUri(bucket: string, prefix: string, uri: string): { key: string; model: string } {
  const want = `s3://${bucket}/${prefix}`;
  const rest = uri.startsWith(want) ? uri.slice(want.length) : undefined;
  const m = rest === undefined ? null : /^([a-z0-9][a-z0-9_-]{0,62})\/([0-9a-f-]{36})\.zip$/.exec(rest);
  if (!m) {
    throw new VigilError('BadRequest', `'${uri}' is not a staged package: expected ${want}<model>/<id>.zip`, {
      uri,
    });
  }
  return { key: `${prefix}${m[1]}/${m[2]}.zip`, model: m[1] };
}

/** Options of {@link S3PackageStaging}. */
export interface S3PackageStagingOptions {
  readonly client: S3Client;
  /** The artifact bucket (`ENV.ARTIFACT_BUCKET`). */
  readonly bucket: string;
  /** @default STAGING_PREFIX (`staging/`) */
  readonly prefix?: string;
  /** @default UPLOAD_URL_SECONDS */
  readonly expiresInSeconds?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
}

/**
 * Staged uploads in S3: a presigned PutObject URL under the staging prefix (the
 * bucket's default SSE-KMS encryption applies), read back when the package is
 * registered. The bucket expires staged objects after a day.
 */
export class S3PackageStaging implements PackageStaging {
  readonly #o: Required<Omit<S3PackageStagingOptions, 'client'>> & { client: S3Client };

  constructor(opts: S3PackageStagingOptions) {
    if (!opts.bucket) throw new Error('S3PackageStaging: bucket is required');
    this.#o = {
      prefix: STAGING_PREFIX,
      expiresInSeconds: UPLOAD_URL_SECONDS,
      now: () => new Date(),
      newId: randomUUID,
      ...opts,
    };
  }

  async createUpload(model: string): Promise<UploadTicket> {
    const key = stagingKey(this.#o.prefix, model, this.#o.newId());
    const headers = { 'content-type': 'application/zip' };
    const command = new PutObjectCommand({
      Bucket: this.#o.bucket,
      Key: key,
      ContentType: headers['content-type'],
    });
    const now = this.#o.now();
    const uploadUrl = await getSignedUrl(this.#o.client, command, {
      expiresIn: this.#o.expiresInSeconds,
      signingDate: now,
      // Signed, so an upload must declare itself a zip.
      signableHeaders: new Set(['content-type']),
    });
    const url = new URL(uploadUrl);
    if ([...url.searchParams.keys()].some((k) => k.toLowerCase().startsWith('x-amz-checksum-'))) {
      // A checksum of the (empty) presign-time body would make every upload fail: refuse loudly.
      throw new Error(
        'S3PackageStaging: the S3 client must use PRESIGN_CLIENT_CONFIG (requestChecksumCalculation)',
      );
    }
    return {
      uploadUrl,
      method: 'PUT',
      headers,
      uri: `s3://${this.#o.bucket}/${key}`,
      expiresAt: new Date(now.getTime() + this.#o.expiresInSeconds * 1000).toISOString(),
    };
  }

  async read(uri: string): Promise<Uint8Array> {
    const { key } = parseStagingUri(this.#o.bucket, this.#o.prefix, uri);
    try {
      const head = await this.#o.client.send(new HeadObjectCommand({ Bucket: this.#o.bucket, Key: key }));
      if ((head.ContentLength ?? 0) > MAX_STAGED_BYTES) {
        throw new VigilError('PayloadTooLarge', `Staged package ${uri} exceeds ${MAX_STAGED_BYTES} bytes`, {
          uri,
        });
      }
      const out = await this.#o.client.send(new GetObjectCommand({ Bucket: this.#o.bucket, Key: key }));
      if (!out.Body) throw notStaged(uri);
      return await out.Body.transformToByteArray();
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') throw notStaged(uri);
      throw e;
    }
  }
}

const notStaged = (uri: string) =>
  new VigilError('NotFound', `Nothing was uploaded to ${uri} (or the upload expired)`, { uri });
