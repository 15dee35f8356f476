import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { type FsPackageStaging, LOCAL_UPLOAD_ROUTE } from '#adapters/staging-fs.ts';
import { ENV, ROUTES, routeKey } from '#contracts';
import { generateApiKey } from '#core/auth.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import { handler as authorizer } from '#handlers/authorizer.ts';
import { handler as modelsHandler } from '#handlers/models.ts';
import { matchPath } from '#runtime/http.ts';
import { registry, resetRoot, staging } from '#runtime/root.ts';
import { modelsCli } from '../../../bin/commands/models-cli.ts';
import type { LocalDynamo } from '../../../local/dynalite.ts';
import { lambdaContext } from '../../../local/http-adapter.ts';
import { fixturePackage, steppingClock, unservablePackage } from '../../unit/registry/fixture-package.ts';
import { freshRegistry, startDynalite } from './harness.ts';

async function writePackage(dir: string, pkg: ModelPackage): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), pkg.onnx);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(pkg.manifest));
  return dir;
}

const API = 'https://api.vigil.example';

/**
 * API Gateway's part, in a few lines: route by ROUTES, run the authorizer Lambda, pass its
 * context on, invoke the models Lambda's exported `handler` — the one wired by the composition
 * root from the environment (an AWS SDK DynamoDB client on dynalite's endpoint). No S3 emulator
 * runs here, so the artifact store and staging are the filesystem ones (`VIGIL_ARTIFACT_DIR`).
 */
async function gateway(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(String(input));
  const method = init.method ?? 'GET';
  const headers = Object.fromEntries(
    Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const bytes = init.body instanceof Uint8Array ? Buffer.from(init.body) : undefined;
  const upload = matchPath(LOCAL_UPLOAD_ROUTE, url.pathname);
  if (method === 'PUT' && upload) {
    const area = staging() as FsPackageStaging;
    await area.accept(
      upload.model ?? '',
      upload.id ?? '',
      url.searchParams.get('token') ?? '',
      bytes ?? new Uint8Array(),
    );
    return new Response('', { status: 200 });
  }
  const route = ROUTES.find((r) => r.method === method && matchPath(r.path, url.pathname));
  if (!route) return new Response('{"message":"Not Found"}', { status: 404 });
  const auth = await authorizer({ headers } as never, lambdaContext('vigil-authorizer', 'auth'));
  if (!headers['x-api-key']) return new Response('{"message":"Unauthorized"}', { status: 401 });
  if (!auth.isAuthorized) return new Response('{"message":"Forbidden"}', { status: 403 });
  const event = {
    version: '2.0',
    routeKey: routeKey(route),
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    pathParameters: matchPath(route.path, url.pathname),
    body: bytes ? bytes.toString('base64') : (init.body as string | undefined),
    isBase64Encoded: bytes !== undefined,
    requestContext: {
      requestId: 'req',
      routeKey: routeKey(route),
      http: { method, path: url.pathname },
      authorizer: { lambda: auth.context },
    },
  } as unknown as APIGatewayProxyEventV2;
  const r = (await modelsHandler(event, {
    awsRequestId: 'req',
  } as Context)) as APIGatewayProxyStructuredResultV2;
  return new Response(r.body ?? '', {
    status: r.statusCode ?? 200,
    headers: r.headers as Record<string, string>,
  });
}

describe('vigil models against the models Lambda wired to DynamoDB (dynalite) through the composition root', () => {
  let db: LocalDynamo;
  let tmp: string;
  let admin: { key: string; id: string };
  let score: { key: string; id: string };

  beforeAll(async () => {
    db = await startDynalite();
    tmp = await mkdtemp(join(tmpdir(), 'vigil-cli-'));
    const { tableName } = await freshRegistry(db, steppingClock());
    const a = generateApiKey('admin');
    const s = generateApiKey('score');
    admin = { key: a.key, id: a.record.id };
    score = { key: s.key, id: s.record.id };
    await writeFile(join(tmp, 'keys.json'), JSON.stringify({ keys: [a.record, s.record] }));
    Object.assign(process.env, {
      [ENV.REGISTRY_TABLE]: tableName,
      [ENV.DYNAMODB_ENDPOINT]: db.endpoint,
      [ENV.ARTIFACT_DIR]: join(tmp, 'artifacts'),
      [ENV.STAGING_DIR]: join(tmp, 'staging'),
      [ENV.STAGING_URL]: API,
      VIGIL_API_KEYS_FILE: join(tmp, 'keys.json'),
    });
    resetRoot();
  });
  afterAll(async () => {
    resetRoot();
    await db.close();
    await rm(tmp, { recursive: true, force: true });
  });

  const run = async (key: string | undefined, ...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await modelsCli(argv, {
      env: { VIGIL_URL: API, ...(key ? { VIGIL_API_KEY: key } : {}) },
      fetch: gateway as typeof fetch,
      out: (t) => {
        stdout += t;
      },
      err: (t) => {
        stderr += t;
      },
    });
    return { code, stdout, stderr };
  };
  const vigil = (...argv: string[]) => run(admin.key, ...argv);

  it('register → approve → promote → rollback → delete-alias → rollback → history', async () => {
    const dir = await writePackage(join(tmp, 'pkg-flow'), fixturePackage({ name: 'cpu-model' }));
    expect((await vigil('register', '--package', dir, '--reason', 'first')).stdout).toMatch(
      /^Registered cpu-model version 1 \(PendingManualApproval\) at file:\/\//,
    );
    const staged = await vigil('register', '--package', dir, '--upload', '--force', '--json');
    expect(JSON.parse(staged.stdout)).toMatchObject({ created: true, version: { version: 2 } });
    // The response's artifact URI has its local directory taken out: read the registry's own.
    expect(JSON.parse(staged.stdout).version.artifactUri).not.toContain(tmp);
    const v2 = await registry().getVersion('cpu-model', 2);
    const stored = await new FsArtifactStore({ root: join(tmp, 'artifacts') }).getPackage(v2.artifactUri);
    expect(stored.manifest).toMatchObject({ name: 'cpu-model', version: 2 });
    for (const v of ['1', '2'])
      expect((await vigil('approve', 'cpu-model', v, '--reason', 'ok')).code).toBe(0);
    await vigil('promote', 'cpu-model', '--version', '1');
    await vigil('promote', 'cpu-model', '--version', '2');
    expect((await vigil('rollback', 'cpu-model', '--reason', 'alarm')).stdout).toBe(
      'cpu-model production rolled back: version 2 -> version 1 (revision 3)\n',
    );
    expect(
      (await vigil('rollback', 'cpu-model', '--reason', 'redo', '--to', '2', '--expected-revision', '3'))
        .stdout,
    ).toBe('cpu-model production rolled back: version 1 -> version 2 (revision 4)\n');
    expect(
      (await vigil('delete-alias', 'cpu-model', '--alias', 'production', '--reason', 'retire')).stdout,
    ).toBe('cpu-model production deleted (was version 2, revision 5)\n');
    expect((await vigil('rollback', 'cpu-model', '--reason', 'restore')).stdout).toBe(
      'cpu-model production rolled back: (unset) -> version 2 (revision 6)\n',
    );
    const h = JSON.parse((await vigil('history', 'cpu-model', '--alias', 'production', '--json')).stdout);
    expect(h.events.map((e: { type: string; to?: number }) => [e.type, e.to ?? null])).toEqual([
      ['alias-set', 1],
      ['alias-set', 2],
      ['rolled-back', 1],
      ['rolled-back', 2],
      ['alias-deleted', null],
      ['rolled-back', 2],
    ]);
    expect(h.events.every((e: { actor: string }) => e.actor === admin.id)).toBe(true);
    expect((await vigil('list')).stdout).toMatch(
      /^MODEL\s+LATEST\s+ALIASES\s+CREATED\ncpu-model\s+2\s+production=2\s/,
    );
  });

  it('refuses changes with a score-scoped key (403) and reads with it', async () => {
    const r = await run(score.key, 'approve', 'cpu-model', '1', '--reason', 'sneaky');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /needs an admin-scoped API key; key 'key-[0-9a-f]+' has scope 'score' \(HTTP 403 Forbidden\)/,
    );
    expect((await run(score.key, 'versions', 'cpu-model')).code).toBe(0);
    const none = await run(undefined, 'list');
    expect(none).toMatchObject({ code: 2 });
    expect(none.stderr).toMatch(
      /no API key for https:\/\/api\.vigil\.example: pass --api-key or set VIGIL_API_KEY/,
    );
  });

  it('refuses a tampered package and one the scorer could not serve before allocating a version', async () => {
    const pkg = fixturePackage({ name: 'bad-model' });
    const dir = await writePackage(join(tmp, 'pkg-tampered'), pkg);
    const bytes = await readFile(join(dir, 'model.onnx'));
    bytes[3] = (bytes[3] ?? 0) ^ 0x55;
    await writeFile(join(dir, 'model.onnx'), bytes);
    const r = await vigil('register', '--package', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /sha256 of model.onnx .* does not match its manifest \(HTTP 422 IntegrityError\)/,
    );
    const wide = unservablePackage();
    const w = await vigil('register', '--package', await writePackage(join(tmp, 'pkg-wide'), wide));
    expect(w.stderr).toMatch(/manifest lists 3 features but the ONNX graph reads 2/);
    const models = JSON.parse((await vigil('list', '--json')).stdout).models.map(
      (m: { name: string }) => m.name,
    );
    expect(models).toEqual(['cpu-model']);
  });

  it('refuses a staged URI outside the staging area', async () => {
    const res = await gateway(`${API}/v1/models/cpu-model/versions`, {
      method: 'POST',
      headers: { 'x-api-key': admin.key, 'content-type': 'application/json' },
      body: JSON.stringify({ uri: `file://${join(tmp, 'artifacts', 'cpu-model', '1')}` }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /is not a staged package/,
    );
  });
});
