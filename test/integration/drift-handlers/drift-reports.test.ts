import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '#adapters/artifact-store-fs.ts';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { bootstrapDefaultModel } from '#app/bootstrap.ts';
import { createDriftReportsHandler } from '#handlers/drift-reports.ts';
import type { HttpEvent } from '#runtime/http.ts';
import { ensureTables, type LocalDynamo, startDynalite } from '../../../local/dynalite.ts';
import { DEFAULT_MODEL_DIR, syntheticReport } from './helpers.ts';

const context = { awsRequestId: 'req-1' } as Context;

const get = (model: string | undefined, query?: Record<string, string>): HttpEvent =>
  ({
    version: '2.0',
    routeKey: 'GET /v1/models/{model}/drift',
    rawPath: `/v1/models/${model}/drift`,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: {},
    ...(model === undefined ? {} : { pathParameters: { model } }),
    ...(query ? { queryStringParameters: query } : {}),
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1', http: { method: 'GET' } },
  }) as unknown as HttpEvent;

describe('GET /v1/models/{model}/drift on dynalite', () => {
  let dynamo: LocalDynamo;
  let dir: string;
  let handler: ReturnType<typeof createDriftReportsHandler>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vigil-drift-api-'));
    dynamo = await startDynalite();
    await ensureTables(dynamo.endpoint, ['reg', 'drift']);
    const client = documentClient(dynamo.endpoint);
    const registry = new DynamoRegistry({ client, tableName: 'reg' });
    await bootstrapDefaultModel(
      { registry, store: new FsArtifactStore({ root: path.join(dir, 'a') }) },
      DEFAULT_MODEL_DIR,
    );
    const reports = new DynamoDriftReportStore({ client, tableName: 'drift' });
    for (let i = 0; i < 12; i++) {
      const createdAt = new Date(Date.UTC(2025, 0, 1, i)).toISOString();
      await reports.put(syntheticReport('default', 3, { seed: i, shifted: i % 2 ? 3 : 0 }), {
        createdAt,
        id: `r${i}`,
      });
    }
    handler = createDriftReportsHandler({ reports, registry });
  });
  afterAll(async () => {
    await dynamo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the 10 newest reports by default, newest first', async () => {
    const res = await handler(get('default'), context);
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body ?? '');
    expect(body.model).toBe('default');
    expect(body.reports.map((r: { id: string }) => r.id)).toEqual(
      Array.from({ length: 10 }, (_, k) => `r${11 - k}`),
    );
    expect(body.reports[0]).toMatchObject({ drift: true, detail: 'full' });
    expect(body.reports[1]).toMatchObject({ drift: false });
  });

  it('honours ?limit=', async () => {
    const body = JSON.parse((await handler(get('default', { limit: '2' }), context)).body ?? '');
    expect(body.reports.map((r: { id: string }) => r.id)).toEqual(['r11', 'r10']);
  });

  it('answers 404 ModelNotFound for a model the registry does not know', async () => {
    const res = await handler(get('unknown-model'), context);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body ?? '').error).toMatchObject({ code: 'ModelNotFound' });
  });

  it('answers 400 for a limit out of range or an unknown parameter, and a bad model name', async () => {
    const queries: Record<string, string>[] = [
      { limit: '0' },
      { limit: '101' },
      { limit: 'ten' },
      { since: 'x' },
    ];
    for (const query of queries) {
      const res = await handler(get('default', query), context);
      expect(res.statusCode, JSON.stringify(query)).toBe(400);
      expect(JSON.parse(res.body ?? '').error.code).toBe('BadRequest');
    }
    expect((await handler(get('Bad Name'), context)).statusCode).toBe(400);
    expect((await handler(get(undefined), context)).statusCode).toBe(400);
  });
});
