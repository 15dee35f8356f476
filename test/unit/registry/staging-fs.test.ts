import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsPackageStaging, LOCAL_UPLOAD_ROUTE } from '#adapters/staging-fs.ts';
import { matchPath } from '#runtime/http.ts';

describe("the twin's staging area (stand-in for presigned S3 uploads)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-staging-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const upload = async (staging: FsPackageStaging) => {
    const t = await staging.createUpload('m');
    const url = new URL(t.uploadUrl);
    const p = matchPath(LOCAL_UPLOAD_ROUTE, url.pathname) ?? {};
    return { t, id: p.id ?? '', token: url.searchParams.get('token') ?? '' };
  };

  it('hands out a URL on the twin itself, accepts one upload with its token, and reads it back by URI', async () => {
    const staging = new FsPackageStaging({ dir, baseUrl: 'http://127.0.0.1:3000/' });
    const { t, id, token } = await upload(staging);
    expect(t.uploadUrl).toMatch(/^http:\/\/127\.0\.0\.1:3000\/local\/uploads\/m\/[0-9a-f-]{36}\?token=/);
    expect((await staging.read(t.uri).catch((e) => e)).code).toBe('NotFound');
    await staging.accept('m', id, token, new Uint8Array([1, 2, 3]));
    expect([...(await staging.read(t.uri))]).toEqual([1, 2, 3]);
    // Single use: the same URL cannot overwrite the staged bytes.
    expect((await staging.accept('m', id, token, new Uint8Array([9])).catch((e) => e)).code).toBe(
      'Forbidden',
    );
  });

  it('refuses a wrong token, an expired ticket and a URI outside the staging area', async () => {
    const staging = new FsPackageStaging({ dir, baseUrl: 'http://127.0.0.1:3000' });
    const { id } = await upload(staging);
    expect((await staging.accept('m', id, 'guess', new Uint8Array([1])).catch((e) => e)).code).toBe(
      'Forbidden',
    );
    const expired = new FsPackageStaging({ dir, baseUrl: 'http://x', expiresInSeconds: -1 });
    const old = await upload(expired);
    expect((await expired.accept('m', old.id, old.token, new Uint8Array([1])).catch((e) => e)).code).toBe(
      'Forbidden',
    );
    for (const uri of [
      'file:///etc/passwd',
      `file://${dir}/m/${id}.zip`,
      `vigil-staging://../m/${id}.zip`,
      `s3://b/staging/m/${id}.zip`,
    ]) {
      expect((await staging.read(uri).catch((e) => e)).code, uri).toBe('BadRequest');
    }
  });
});
