import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
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
});
