import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { type CustomResourceOutcome, sendCustomResourceResponse } from '#adapters/custom-resource.ts';
import { BOOTSTRAP_ACTOR } from '#app/bootstrap.ts';
import { approve, registerPackage, setAlias } from '#app/models.ts';
import { PRODUCTION_ALIAS } from '#contracts';
import { createSeedHandler } from '#handlers/seed-default-model.ts';
import type { LocalDynamo } from '../../../local/dynalite.ts';
import { fixturePackage, steppingClock } from '../../unit/registry/fixture-package.ts';
import { freshRegistry, startDynalite } from '../registry/harness.ts';

const ROOT = join(import.meta.dirname, '../../..');

/**
 * The Data stack's default-model seed (a CloudFormation custom resource) against dynalite and the
 * filesystem store, with the shipped package zipped as a CDK directory asset is (files at the root;
 * the training data beside them is ignored).
 */
describe('default-model seed custom resource', () => {
  let db: LocalDynamo;
  let tmp: string;
  let zip: Uint8Array;
  beforeAll(async () => {
    db = await startDynalite();
    tmp = await mkdtemp(join(tmpdir(), 'vigil-seed-'));
    const dir = join(ROOT, 'models/default');
    const [manifest, onnx, data] = await Promise.all(
      ['manifest.json', 'model.onnx', 'data.csv'].map((f) => readFile(join(dir, f))),
    );
    zip = zipSync({
      'manifest.json': new Uint8Array(manifest as Buffer),
      'model.onnx': new Uint8Array(onnx as Buffer),
      'data.csv': new Uint8Array(data as Buffer),
    });
  });
  afterAll(async () => {
    await db.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const request = (type: 'Create' | 'Update' | 'Delete') => ({
    RequestType: type,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/r?X-Amz-Signature=x',
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/Vigil-dev-Data/1',
    RequestId: `req-${type}`,
    LogicalResourceId: 'DefaultModelSeed',
    ResourceType: 'Custom::VigilDefaultModelSeed',
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:seed',
    ResourceProperties: { ServiceToken: 'x', PackageBucket: 'cdk-assets-bucket', PackageKey: 'abc.zip' },
  });

  const setup = async (asset: Uint8Array = zip) => {
    const { registry } = await freshRegistry(db, steppingClock());
    const store = new FsArtifactStore({ root: await mkdtemp(join(tmp, 'store-')) });
    const answers: CustomResourceOutcome[] = [];
    const reads: string[] = [];
    const handler = createSeedHandler({
      models: () => ({ registry, store }),
      readAsset: async (bucket, key) => {
        reads.push(`${bucket}/${key}`);
        return asset;
      },
      respond: async (_req, out) => {
        answers.push(out);
      },
    });
    return { registry, store, answers, reads, handler };
  };

  it('registers the shipped package as production on Create, approved, by the bootstrap actor', async () => {
    const s = await setup();
    await s.handler(request('Create'));
    expect(s.reads).toEqual(['cdk-assets-bucket/abc.zip']);
    expect(s.answers).toEqual([
      expect.objectContaining({
        status: 'SUCCESS',
        physicalResourceId: 'vigil-default-model-seed',
        data: { Model: 'default', Action: 'registered', ProductionVersion: '1' },
      }),
    ]);
    const v = await s.registry.getVersion('default', 1);
    expect(v.approval).toBe('Approved');
    expect(v.registeredBy).toBe(BOOTSTRAP_ACTOR);
    const resolved = await s.registry.resolve('default', {});
    expect(resolved.version).toBe(1);
    // The stored package is the shipped one (same model bytes), ready for the score function.
    const stored = await s.store.getPackage(resolved.artifactUri);
    expect(Buffer.from(stored.onnx).equals(await readFile(join(ROOT, 'models/default/model.onnx')))).toBe(
      true,
    );
  });

  it('never overwrites a promotion on a later Update', async () => {
    const s = await setup();
    await s.handler(request('Create'));
    const ctx = { actor: 'admin-key', reason: 'better model' };
    const v2 = await registerPackage(s, fixturePackage({ name: 'default' }), ctx);
    await approve(s, 'default', v2.version, ctx);
    await setAlias(s, 'default', PRODUCTION_ALIAS, v2.version, ctx);
    const history = await s.registry.history('default');
    await s.handler(request('Update'));
    expect(s.answers[1]).toMatchObject({
      status: 'SUCCESS',
      data: { Action: 'unchanged', ProductionVersion: String(v2.version) },
    });
    expect((await s.registry.resolve('default', {})).version).toBe(v2.version);
    expect(await s.registry.history('default')).toEqual(history);
  });

  it('leaves alone a model someone registered before the first deploy', async () => {
    const s = await setup();
    await registerPackage(s, fixturePackage({ name: 'default' }), { actor: 'admin-key', reason: 'own' });
    await s.handler(request('Create'));
    expect(s.answers[0]).toMatchObject({ status: 'SUCCESS', data: { Action: 'unchanged' } });
    expect((await s.registry.listVersions('default')).map((v) => v.registeredBy)).toEqual(['admin-key']);
  });

  it('answers Delete without reading the asset or touching the registry', async () => {
    const s = await setup();
    await s.handler(request('Create'));
    const history = await s.registry.history('default');
    await s.handler(request('Delete'));
    expect(s.reads).toHaveLength(1);
    expect(s.answers[1]).toMatchObject({ status: 'SUCCESS', physicalResourceId: 'vigil-default-model-seed' });
    expect(await s.registry.history('default')).toEqual(history);
  });

  it('answers FAILED with the reason for an asset that is not a package (the deploy fails, not hangs)', async () => {
    const s = await setup(new Uint8Array([1, 2, 3]));
    await s.handler(request('Create'));
    expect(s.answers).toEqual([
      expect.objectContaining({ status: 'FAILED', reason: expect.stringMatching(/not a valid zip/) }),
    ]);
  });

  it('answers FAILED for a malformed request it can answer, and throws for one it cannot', async () => {
    const s = await setup();
    const { ResourceProperties: _, ...noProps } = request('Create');
    await s.handler(noProps);
    expect(s.answers).toEqual([
      expect.objectContaining({ status: 'FAILED', reason: expect.stringMatching(/Invalid seed request/) }),
    ]);
    await expect(s.handler({ RequestType: 'Create' })).rejects.toThrow(/Invalid seed request/);
  });
});

describe('custom resource response', () => {
  /** A loopback stand-in for the presigned response URL; answers 503 `failures` times first. */
  const server = async (failures: number) => {
    const seen: { method?: string; headers: IncomingHttpHeaders; body: string }[] = [];
    let left = failures;
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ method: req.method, headers: req.headers, body });
        res.statusCode = left-- > 0 ? 503 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/response?sig=1`;
    return { url, seen, close: () => new Promise((r) => srv.close(r)) };
  };
  const req = (url: string) => ({ ResponseURL: url, StackId: 's', RequestId: 'r', LogicalResourceId: 'l' });

  it('PUTs the document CloudFormation reads, with an empty content type (the URL signs none)', async () => {
    const s = await server(0);
    try {
      await sendCustomResourceResponse(req(s.url), {
        status: 'SUCCESS',
        physicalResourceId: 'p',
        data: { Action: 'registered' },
      });
      expect(s.seen).toHaveLength(1);
      expect(s.seen[0]?.method).toBe('PUT');
      expect(s.seen[0]?.headers['content-type'] ?? '').toBe('');
      expect(JSON.parse(s.seen[0]?.body ?? '')).toEqual({
        Status: 'SUCCESS',
        Reason: 'SUCCESS',
        PhysicalResourceId: 'p',
        StackId: 's',
        RequestId: 'r',
        LogicalResourceId: 'l',
        Data: { Action: 'registered' },
      });
    } finally {
      await s.close();
    }
  });

  it('retries a refused PUT, and gives up with an error after the last attempt', async () => {
    const ok = await server(2);
    try {
      await sendCustomResourceResponse(
        req(ok.url),
        { status: 'FAILED', physicalResourceId: 'p', reason: 'x' },
        {
          backoffMs: 1,
        },
      );
      expect(ok.seen).toHaveLength(3);
    } finally {
      await ok.close();
    }
    const down = await server(10);
    try {
      await expect(
        sendCustomResourceResponse(
          req(down.url),
          { status: 'SUCCESS', physicalResourceId: 'p' },
          {
            backoffMs: 1,
            attempts: 3,
          },
        ),
      ).rejects.toThrow(/HTTP 503/);
      expect(down.seen).toHaveLength(3);
    } finally {
      await down.close();
    }
  });
});
