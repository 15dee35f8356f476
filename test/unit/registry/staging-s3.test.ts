import { createHash, createHmac } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  PRESIGN_CLIENT_CONFIG,
  parseStagingUri,
  S3PackageStaging,
  stagingKey,
} from '#adapters/staging-s3.ts';
import { STAGING_PREFIX } from '#contracts';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const client = new S3Client({
  ...PRESIGN_CLIENT_CONFIG,
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET },
});

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * SigV4 query-string signature recomputed from the AWS specification (canonical request →
 * string to sign → derived key), independently of the SDK's signer.
 */
function expectedSignature(url: URL, method: string, headers: Record<string, string>): string {
  const q = [...url.searchParams.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signed = (url.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
  const all: Record<string, string> = { host: url.host, ...headers };
  const canonicalHeaders = signed.map((h) => `${h}:${(all[h] ?? '').trim()}\n`).join('');
  const canonical = [method, url.pathname, q, canonicalHeaders, signed.join(';'), 'UNSIGNED-PAYLOAD'].join(
    '\n',
  );
  const date = url.searchParams.get('X-Amz-Date') ?? '';
  const scope = `${date.slice(0, 8)}/eu-west-1/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonical).digest('hex')].join(
    '\n',
  );
  let key = hmac(`AWS4${SECRET}`, date.slice(0, 8));
  for (const part of ['eu-west-1', 's3', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('S3 staging: key layout', () => {
  it('stages one object per upload under staging/<model>/<id>.zip', () => {
    expect(STAGING_PREFIX).toBe('staging/');
    expect(stagingKey(STAGING_PREFIX, 'cpu-model', ID)).toBe(`staging/cpu-model/${ID}.zip`);
    expect(() => stagingKey(STAGING_PREFIX, '../x', ID)).toThrow(/Invalid model name/);
    expect(() => stagingKey(STAGING_PREFIX, 'm', '../../etc')).toThrow(/invalid upload id/);
  });

  it('reads back only staged URIs of its own bucket and prefix', () => {
    expect(parseStagingUri('vigil-art', 'staging/', `s3://vigil-art/staging/m/${ID}.zip`)).toEqual({
      key: `staging/m/${ID}.zip`,
      model: 'm',
    });
    for (const bad of [
      `s3://other-bucket/staging/m/${ID}.zip`,
      `s3://vigil-art/models/m/1/model.onnx`,
      `s3://vigil-art/staging/../models/m/${ID}.zip`,
      `s3://vigil-art/staging/m/${ID}.zip/../x`,
      `s3://vigil-art/staging/m/not-an-id.zip`,
      'file:///etc/passwd',
    ]) {
      expect(() => parseStagingUri('vigil-art', 'staging/', bad), bad).toThrow(/is not a staged package/);
    }
  });
});

describe('S3 staging: presigned upload URL', () => {
  const now = new Date('2025-01-02T03:04:05.000Z');
  const staging = new S3PackageStaging({ client, bucket: 'vigil-art', now: () => now, newId: () => ID });

  it('hands out a PUT URL for the staged key, valid 15 minutes, with the URI to register', async () => {
    const t = await staging.createUpload('cpu-model');
    expect(t).toMatchObject({
      method: 'PUT',
      headers: { 'content-type': 'application/zip' },
      uri: `s3://vigil-art/staging/cpu-model/${ID}.zip`,
      expiresAt: '2025-01-02T03:19:05.000Z',
    });
    const url = new URL(t.uploadUrl);
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('vigil-art.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe(`/staging/cpu-model/${ID}.zip`);
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20250102/eu-west-1/s3/aws4_request');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20250102T030405Z');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    // The content type is signed, so an upload must send exactly the header the ticket names.
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['content-type', 'host']);
    // No checksum of the presign-time (empty) body, which would fail every real upload.
    expect([...url.searchParams.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
  });

  it('refuses to presign with a client that would pin an empty-body checksum', async () => {
    const defaults = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'A', secretAccessKey: 'B' },
    });
    const bad = new S3PackageStaging({ client: defaults, bucket: 'vigil-art', newId: () => ID });
    await expect(bad.createUpload('m')).rejects.toThrow(/PRESIGN_CLIENT_CONFIG/);
  });

  it('signs the URL as SigV4 specifies (recomputed independently of the SDK)', async () => {
    const t = await staging.createUpload('cpu-model');
    const url = new URL(t.uploadUrl);
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, 'PUT', t.headers));
    // A URL for another key or a later time would not carry this signature.
    const tampered = new URL(t.uploadUrl);
    tampered.pathname = `/staging/other/${ID}.zip`;
    expect(url.searchParams.get('X-Amz-Signature')).not.toBe(expectedSignature(tampered, 'PUT', t.headers));
  });
});
