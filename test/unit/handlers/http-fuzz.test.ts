import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PowertoolsMetricsSink } from '#adapters/observability.ts';
import { VigilError } from '#core/errors.ts';
import { httpHandler } from '#runtime/http.ts';
import { parseRowsRequest } from '#runtime/request.ts';

/**
 * The HTTP middleware on its own, as middy ships a fuzz test beside each middleware: arbitrary
 * events through request parsing, and arbitrary thrown values through the error mapping, always
 * give the documented JSON error shape — never a stack, never an unbounded echo.
 */
const context = { awsRequestId: 'fuzz-req' } as Context;
// Thousands of counted errors: emitted to a disabled emitter, not the test's stdout.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const quiet = {
  metrics: new PowertoolsMetricsSink(new Metrics({ namespace: 'VigilFuzz', serviceName: 'fuzz' })),
};

const event = fc.record({
  body: fc.option(
    fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.nat({ max: 20_000 }).map((n) => `{"rows":[${'{"k":"x"},'.repeat(n)}{}]}`),
    ),
    { nil: undefined },
  ),
  isBase64Encoded: fc.boolean(),
  pathParameters: fc.option(fc.dictionary(fc.constantFrom('model', 'x'), fc.string({ maxLength: 200 })), {
    nil: undefined,
  }),
  queryStringParameters: fc.option(
    fc.dictionary(fc.constantFrom('version', 'format', '__proto__'), fc.string({ maxLength: 200 })),
    { nil: undefined },
  ),
});

const thrown = fc.oneof(
  fc.string().map((m) => new Error(m)),
  fc.string().map((m) => new TypeError(`${m} at /var/task/index.mjs:1:2`)),
  fc.constantFrom(
    new VigilError('BadRequest', 'bad'),
    Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    }),
    Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable', $fault: 'server' }),
  ),
  fc.anything(),
);

function checkShape(res: { statusCode?: number; body?: string; headers?: Record<string, unknown> }) {
  const status = res.statusCode ?? 0;
  expect([200, 400, 401, 403, 404, 409, 413, 422, 429, 500, 503]).toContain(status);
  if (status >= 400) {
    const json = JSON.parse(res.body ?? '');
    expect(Object.keys(json)).toEqual(['error']);
    expect(typeof json.error.code).toBe('string');
    expect(typeof json.error.message).toBe('string');
    expect(res.body?.length ?? 0).toBeLessThan(4096);
    expect(res.body).not.toMatch(/\bat [^\s]+:\d+:\d+|\/var\/task|10\.0\.0\.1/);
    if (status === 503) expect(res.headers?.['retry-after']).toMatch(/^\d+$/);
    if (status === 500)
      expect(json.error).toEqual({ code: 'InternalError', message: 'Internal error', requestId: 'fuzz-req' });
  }
}

describe('fuzz: the HTTP middleware alone', () => {
  it('request parsing answers every event with 200 or a documented 4xx', async () => {
    const h = httpHandler(async (e) => {
      const req = parseRowsRequest(e, { alias: 'production' });
      return { statusCode: 200, body: JSON.stringify({ rows: req.rows.length }) };
    }, quiet);
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        const res = await h(e as unknown as APIGatewayProxyEventV2, context);
        checkShape(res);
        expect(res.statusCode).toBeLessThan(500);
      }),
      { seed: 4242, numRuns: 1500 },
    );
  });

  it('the error mapping turns anything thrown into the documented shape (500 only for bugs)', async () => {
    await fc.assert(
      fc.asyncProperty(thrown, async (err) => {
        const res = await httpHandler(async () => {
          throw err;
        }, quiet)({ headers: {}, requestContext: {} } as unknown as APIGatewayProxyEventV2, context);
        checkShape(res);
      }),
      { seed: 4343, numRuns: 500 },
    );
  });
});
