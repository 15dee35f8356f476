import {
  GetObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { VigilError } from '#core/errors.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { decodePackage, encodePackage, PACKAGE_FILES } from '#core/model/package-io.ts';
import type { ArtifactStore } from '#core/ports.ts';
import { assertModelName, assertVersionNumber } from '#core/registry/rules.ts';

/** Where one package lives in S3. */
export interface S3PackageLocation {
  readonly bucket: string;
  /** Key prefix ending in `/`, e.g. `models/default/3/`. */
  readonly prefix: string;
  /** `s3://<bucket>/<prefix>` */
  readonly uri: string;
  readonly keys: { readonly model: string; readonly manifest: string };
}

const location = (bucket: string, prefix: string): S3PackageLocation => ({
  bucket,
  prefix,
  uri: `s3://${bucket}/${prefix}`,
  keys: { model: `${prefix}${PACKAGE_FILES.model}`, manifest: `${prefix}${PACKAGE_FILES.manifest}` },
});

/** `s3://bucket/models/<name>/<version>/` and the two object keys under it. */
export function s3PackageLocation(
  bucket: string,
  name: string,
  version: number,
  root = 'models',
): S3PackageLocation {
  assertModelName(name);
  assertVersionNumber(version);
  return location(bucket, `${root ? `${root.replace(/\/+$/, '')}/` : ''}${name}/${version}/`);
}

/**
 * Parses a package URI written by `S3ArtifactStore`.
 * @throws VigilError BadRequest when it is not an `s3://bucket/prefix/` URI.
 */
export function parseS3PackageUri(uri: string): S3PackageLocation {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/((?:[^/]+\/)*[^/]+)\/?$/.exec(uri);
  if (!m || m[2].split('/').some((part) => part === '..' || part === '.')) {
    throw new VigilError('BadRequest', `Not an s3:// package URI: '${uri}'`, { uri });
  }
  return location(m[1], `${m[2]}/`);
}

/**
 * The PutObject requests that store a package: the model first, the manifest
 * last, so a reader that finds the manifest finds a complete package.
 * SSE-KMS headers only when a key is given (otherwise the bucket default applies).
 */
export function putPackageRequests(
  loc: S3PackageLocation,
  files: { manifest: Uint8Array; onnx: Uint8Array },
  kmsKeyId?: string,
): PutObjectCommandInput[] {
  const sse = kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId } : {};
  return [
    {
      Bucket: loc.bucket,
      Key: loc.keys.model,
      Body: files.onnx,
      ContentType: 'application/octet-stream',
      ...sse,
    },
    {
      Bucket: loc.bucket,
      Key: loc.keys.manifest,
      Body: files.manifest,
      ContentType: 'application/json',
      ...sse,
    },
  ];
}

/** Options of the S3 artifact store. */
export interface S3ArtifactStoreOptions {
  readonly client: S3Client;
  /** Bucket (`ENV.ARTIFACT_BUCKET`). */
  readonly bucket: string;
  /** Key root. @default 'models' */
  readonly root?: string;
  /** KMS key for SSE-KMS. @default the bucket's default encryption */
  readonly kmsKeyId?: string;
}

/**
 * S3 artifact store. Deliberately thin: key/URI logic lives in the pure
 * functions above (unit-tested); this class only sends the requests, so there
 * is nothing here that an S3 emulator would test beyond the SDK itself.
 * Versions are never overwritten in practice because the registry allocates
 * each number once; a retried upload rewrites identical bytes.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly #opts: S3ArtifactStoreOptions;

  constructor(opts: S3ArtifactStoreOptions) {
    if (!opts.bucket) throw new Error('S3ArtifactStore: bucket is required');
    this.#opts = opts;
  }

  async putPackage(name: string, version: number, pkg: ModelPackage): Promise<string> {
    const loc = s3PackageLocation(this.#opts.bucket, name, version, this.#opts.root);
    for (const input of putPackageRequests(loc, encodePackage(pkg), this.#opts.kmsKeyId)) {
      await this.#opts.client.send(new PutObjectCommand(input));
    }
    return loc.uri;
  }

  /** @throws VigilError BadRequest | NotFound | InvalidModel | IntegrityError */
  async getPackage(uri: string): Promise<ModelPackage> {
    const loc = parseS3PackageUri(uri);
    const [manifest, onnx] = await Promise.all([
      this.#get(loc, loc.keys.manifest),
      this.#get(loc, loc.keys.model),
    ]);
    return decodePackage({ manifest, onnx }, uri);
  }

  async #get(loc: S3PackageLocation, key: string): Promise<Uint8Array> {
    try {
      const out = await this.#opts.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: key }));
      if (!out.Body)
        throw new VigilError('NotFound', `s3://${loc.bucket}/${key} has no body`, { uri: loc.uri });
      return await out.Body.transformToByteArray();
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') {
        throw new VigilError('NotFound', `Package '${loc.uri}' is missing ${key.slice(loc.prefix.length)}`, {
          uri: loc.uri,
        });
      }
      throw e;
    }
  }
}
