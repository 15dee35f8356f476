import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { httpHandler } from '#runtime/http.ts';
import { lambdaContext } from './http-adapter.ts';

/*
 * Kept apart from the twin's listener: importing the HTTP middleware loads the Powertools
 * emitter, which must not be built before the twin has set its environment (POWERTOOLS_DEV
 * routes EMF through console.log, which the twin sends to metrics.log).
 */

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
