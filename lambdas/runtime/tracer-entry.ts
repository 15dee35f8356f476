import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';

/**
 * Entry of `powertools-tracer.mjs`, the file the CDK construct builds beside each function's
 * bundle (see `TRACER_FILE` in `tracing.ts`); nothing imports it statically.
 * The response is not recorded: score and explain answers are large and carry caller data.
 */
export const captureHandler = (serviceName: string) =>
  captureLambdaHandler(new Tracer({ serviceName }), { captureResponse: false });
