import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENV } from '#contracts';
import { resetRoot } from '#runtime/root.ts';
import { captureHandler } from '#runtime/tracer-entry.ts';
import { tracing } from '#runtime/tracing.ts';

type Req = Parameters<NonNullable<ReturnType<typeof tracing>['before']>>[0];
const request = {} as Req;

describe('tracing middleware', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    delete process.env[ENV.LAMBDA_FUNCTION_NAME];
    delete process.env[ENV.TRACE_ENABLED];
    resetRoot();
  });
  afterEach(() => {
    process.env = { ...saved };
    resetRoot();
  });

  const recording = () => {
    const calls: string[] = [];
    let loads = 0;
    const load = async () => {
      loads++;
      return {
        captureHandler: (service: string) => ({
          before: async () => void calls.push(`before ${service}`),
          after: async () => void calls.push('after'),
          onError: async () => void calls.push('onError'),
        }),
      };
    };
    return { calls, load, loads: () => loads };
  };

  it('loads nothing and does nothing off Lambda (twin, tests, bench)', async () => {
    const r = recording();
    const mw = tracing(r.load);
    await mw.before?.(request);
    await mw.after?.(request);
    expect(r.loads()).toBe(0);
    expect(r.calls).toEqual([]);
  });

  it('in Lambda, loads the tracer once and delegates every phase to it', async () => {
    process.env[ENV.LAMBDA_FUNCTION_NAME] = 'vigil-score';
    process.env[ENV.SERVICE_NAME] = 'vigil-score';
    const r = recording();
    const mw = tracing(r.load);
    await mw.before?.(request);
    await mw.after?.(request);
    await mw.before?.(request);
    await mw.onError?.(request);
    expect(r.loads()).toBe(1);
    expect(r.calls).toEqual(['before vigil-score', 'after', 'before vigil-score', 'onError']);
  });

  it('stays off in Lambda when POWERTOOLS_TRACE_ENABLED=false', async () => {
    process.env[ENV.LAMBDA_FUNCTION_NAME] = 'vigil-score';
    process.env[ENV.TRACE_ENABLED] = 'false';
    const r = recording();
    await tracing(r.load).before?.(request);
    expect(r.loads()).toBe(0);
  });

  it("the tracer module's middleware is Powertools' captureLambdaHandler", () => {
    const mw = captureHandler('vigil-test');
    expect(typeof mw.before).toBe('function');
    expect(typeof mw.after).toBe('function');
    expect(typeof mw.onError).toBe('function');
  });
});
