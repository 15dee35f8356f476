import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { powertoolsLogger } from '#adapters/observability.ts';
import { tracing } from './tracing.ts';

/**
 * Wraps any Lambda entry point with the house middleware: Powertools `injectLambdaContext`, so
 * every log line of the invocation carries the request id, cold start and function version, and
 * the Powertools Tracer on the AWS path (loaded on the first invocation in Lambda, see `tracing.ts`).
 * HTTP handlers add the error mapping on top (`httpHandler`).
 * @example export const handler = lambdaHandler(async (event: unknown) => evaluate(event));
 */
export const lambdaHandler = <E, R>(fn: (event: E, context: Context) => Promise<R>) =>
  middy<E, R>().use(injectLambdaContext(powertoolsLogger)).use(tracing()).handler(fn);
