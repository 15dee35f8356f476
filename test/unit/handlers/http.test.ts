import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { PowertoolsMetricsSink } from '#adapters/observability.ts';
import { ModelUnavailableError } from '#app/serve.ts';
import { VigilError } from '#core/errors.ts';
import { httpHandler } from '#runtime/http.ts';

const event = { requestContext: { requestId: 'r-1' }, headers: {} } as unknown as APIGatewayProxyEventV2;
const context = { awsRequestId: 'req-123' } as Context;

describe('httpHandler error mapping', () => {
  it('maps a VigilError to its status and JSON error body', async () => {
    const h = httpHandler(async () => {
      throw new VigilError('BatchTooLarge', 'too many', { limit: 3 });
    });
    const res = await h(event, context);
    expect(res.statusCode).toBe(413);
    expect(JSON.parse(res.body ?? '')).toEqual({
      error: { code: 'BatchTooLarge', message: 'too many', details: { limit: 3 } },
    });
  });

  it('turns an unexpected error into a generic 500 with the request id and no internals', async () => {
    const h = httpHandler(async () => {
      throw new TypeError('secret internal detail at /var/task/index.mjs:12');
    });
    const res = await h(event, context);
    expect(res.statusCode).toBe(500);
    const body = JSON.parse(res.body ?? '');
    expect(body).toEqual({
      error: { code: 'InternalError', message: 'Internal error', requestId: 'req-123' },
    });
    expect(res.body).not.toContain('secret internal detail');
  });

  it('counts a genuine 500 as ServerErrors (Lambda Errors never sees it) and a 4xx not at all', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await httpHandler(async () => {
        throw new VigilError('EmptyBatch', 'no rows');
      })(event, context);
      const after4xx = written.filter((l) => l.includes('"ServerErrors"')).length;
      await httpHandler(async () => {
        throw new Error('bug');
      })(event, context);
      const after500 = written.filter((l) => l.includes('"ServerErrors"')).length;
      expect(after4xx).toBe(0);
      expect(after500).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers a dependency outage 503 with Retry-After, counted as DependencyErrors and never ServerErrors', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      // What the SDK throws when dynalite (or DynamoDB's endpoint) is down after its retries.
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), {
        code: 'ECONNREFUSED',
        $metadata: { attempts: 5 },
      });
      const throttled = Object.assign(new Error('Rate exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
      // A model package that could not be fetched because S3 was down: wrapped, but still an outage.
      const wrapped = new ModelUnavailableError(
        'default',
        1,
        Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      );
      for (const e of [refused, throttled, wrapped]) {
        const res = await httpHandler(async () => {
          throw e;
        })(event, context);
        expect(res.statusCode).toBe(503);
        expect(res.headers?.['retry-after']).toBe('5');
        const body = JSON.parse(res.body ?? '');
        expect(body.error.code).toBe('ServiceUnavailable');
        expect(res.body).not.toContain('127.0.0.1');
      }
      expect(written.filter((l) => l.includes('"DependencyErrors"')).length).toBe(3);
      expect(written.filter((l) => l.includes('"ServerErrors"')).length).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('still answers 500 for a bug, and for a refused request that no retry can fix', async () => {
    const invalid = Object.assign(new Error('One or more parameter values were invalid'), {
      name: 'ValidationException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const corrupt = new ModelUnavailableError('default', 1, new Error('sha256 mismatch'));
    for (const e of [invalid, corrupt, new TypeError('x is undefined')]) {
      const res = await httpHandler(async () => {
        throw e;
      })(event, context);
      expect(res.statusCode).toBe(500);
    }
  });
});

describe('metrics of a request (PowertoolsMetricsSink)', () => {
  it('publishes each record as it is emitted and says nothing when a request emitted none (a 4xx)', async () => {
    const lines: string[] = [];
    const m = new Metrics({
      namespace: 'Test',
      serviceName: 't',
      logger: { warn: (s: string) => lines.push(`warn ${s}`), debug() {}, info() {}, error() {} } as never,
    });
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const sink = new PowertoolsMetricsSink(m);
    try {
      await httpHandler(
        async () => {
          throw new VigilError('EmptyBatch', 'no rows');
        },
        { metrics: sink },
      )(event, context);
      expect(lines.filter((l) => l.includes('No application metrics'))).toEqual([]);
      await httpHandler(
        async () => {
          sink.emit([{ name: 'RowsScored', value: 2 }]);
          return { statusCode: 200, body: '{}' };
        },
        { metrics: sink },
      )(event, context);
      expect(lines.some((l) => l.includes('"RowsScored"'))).toBe(true);
    } finally {
      out.mockRestore();
    }
  });
});
