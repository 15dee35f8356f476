import type { MiddlewareObj } from '@middy/core';
import { TRACER } from '#contracts';
import { config } from './root.ts';

/**
 * What `TRACER.file` exports (`tracer-entry.ts`): the file holds Powertools Tracer and
 * aws-xray-sdk-core beside each Lambda bundle, so the bundles do not grow by its ~125 KB and no
 * process off the AWS path ever parses it.
 */
interface TracerModule {
  captureHandler(serviceName: string): MiddlewareObj;
}

/**
 * Powertools Tracer as a middy middleware, on Lambda only: `captureLambdaHandler` (handler
 * subsegment, `ColdStart` and `Service` annotations) loaded on the first invocation. Off the AWS
 * path (the twin, tests, the bench, `vigil serve --aws` without an X-Ray daemon) it does nothing
 * and loads nothing.
 */
export function tracing(load: () => Promise<TracerModule> = importTracer): MiddlewareObj {
  let inner: Promise<MiddlewareObj | undefined> | undefined;
  const get = () => {
    inner ??= config().tracing
      ? load().then((m) => m.captureHandler(config().serviceName))
      : Promise.resolve(undefined);
    return inner;
  };
  return {
    before: async (request) => {
      await (await get())?.before?.(request);
    },
    after: async (request) => {
      await (await get())?.after?.(request);
    },
    onError: async (request) => {
      await (await get())?.onError?.(request);
    },
  };
}

/** Relative to the bundle (`/var/task/index.mjs`); built at run time so esbuild leaves it alone. */
const importTracer = (): Promise<TracerModule> => import(['.', TRACER.file].join('/'));
