import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { ModelCache } from '#app/serve.ts';
import type { ModelPackage } from '#core/model/manifest.ts';
import type { ArtifactStore, MetricsSink, ModelResolver } from '#core/ports.ts';
import type { EngineName } from '#core/scoring.ts';
import { httpHandler } from '#runtime/http.ts';
import { lambdaContext } from '../../local/http-adapter.ts';

/** The CLI prints the API's answer on stdout; EMF lines there would corrupt it, and nobody collects them. */
export const NO_METRICS: MetricsSink = { emit: () => undefined };

/**
 * Serves one package directory through the handlers' own request cores, so
 * `vigil score` / `vigil explain` print exactly what the HTTP API would.
 */
export function singlePackageCache(pkg: ModelPackage, engine?: EngineName): ModelCache {
  const name = pkg.manifest.name;
  const version = pkg.manifest.version || 1;
  const resolver: ModelResolver = {
    async resolve() {
      return { name, version, artifactUri: 'package://cli', sha256: pkg.manifest.sha256 };
    },
  };
  const store: ArtifactStore = {
    async putPackage() {
      throw new Error('read-only');
    },
    async getPackage() {
      return pkg;
    },
  };
  return new ModelCache({ resolver, store, engine });
}

/** Runs a request core on a JSON body as `POST /v1/models/{model}/<action>`; returns status and parsed body. */
export async function runOnBody(
  core: (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode?: number; body?: string }>,
  model: string,
  action: 'score' | 'explain',
  body: string,
  query?: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const requestId = randomUUID();
  const event = {
    version: '2.0',
    routeKey: `POST /v1/models/{model}/${action}`,
    rawPath: `/v1/models/${model}/${action}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    queryStringParameters: query,
    pathParameters: { model },
    body,
    isBase64Encoded: false,
    requestContext: { requestId, http: { method: 'POST', path: `/v1/models/${model}/${action}` } },
  } as unknown as APIGatewayProxyEventV2;
  const res = await httpHandler(core as never)(event, lambdaContext('vigil-cli', requestId));
  return { status: res.statusCode ?? 200, body: res.body ?? '' };
}

/** Reads all of stdin as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
