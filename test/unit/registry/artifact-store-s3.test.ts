import { describe, expect, it } from 'vitest';
import { parseS3PackageUri, putPackageRequests, s3PackageLocation } from '#adapters/artifact-store-s3.ts';

// The S3 adapter itself only forwards these requests to the SDK; with no S3 or
// emulator here, its key/URI/request logic is what is tested.
describe('S3 artifact store key and URI logic', () => {
  it('places a package under models/<name>/<version>/', () => {
    const loc = s3PackageLocation('vigil-artifacts', 'default', 12);
    expect(loc).toEqual({
      bucket: 'vigil-artifacts',
      prefix: 'models/default/12/',
      uri: 's3://vigil-artifacts/models/default/12/',
      keys: { model: 'models/default/12/model.onnx', manifest: 'models/default/12/manifest.json' },
    });
  });

  it('parses the URIs it writes back to the same location, with or without the trailing slash', () => {
    const loc = s3PackageLocation('b-1', 'cpu_model', 3, 'custom/root/');
    expect(parseS3PackageUri(loc.uri)).toEqual(loc);
    expect(parseS3PackageUri(loc.uri.slice(0, -1))).toEqual(loc);
  });

  it('rejects URIs that are not s3 package prefixes', () => {
    for (const bad of [
      'file:///tmp/x/1',
      's3://bucket',
      's3://bucket/',
      's3://Bad_Bucket/models/x/1/',
      's3://bucket/models/../x/',
    ]) {
      expect(() => parseS3PackageUri(bad), bad).toThrow(/Not an s3:\/\/ package URI/);
    }
  });

  it('rejects invalid names and versions', () => {
    expect(() => s3PackageLocation('bucket', '../etc', 1)).toThrow(/Invalid model name/);
    expect(() => s3PackageLocation('bucket', 'ok', 0)).toThrow(/Invalid version/);
  });

  it('writes the model before the manifest and adds SSE-KMS headers only with a key', () => {
    const loc = s3PackageLocation('bucket', 'm', 1);
    const files = { onnx: new Uint8Array([1]), manifest: new Uint8Array([2]) };
    const plain = putPackageRequests(loc, files);
    expect(plain.map((r) => r.Key)).toEqual(['models/m/1/model.onnx', 'models/m/1/manifest.json']);
    expect(plain.every((r) => r.ServerSideEncryption === undefined && r.SSEKMSKeyId === undefined)).toBe(
      true,
    );
    const kms = putPackageRequests(loc, files, 'arn:aws:kms:eu-west-1:111122223333:key/abc');
    expect(kms.every((r) => r.ServerSideEncryption === 'aws:kms' && r.SSEKMSKeyId?.endsWith('key/abc'))).toBe(
      true,
    );
    expect(kms[1].ContentType).toBe('application/json');
  });
});
