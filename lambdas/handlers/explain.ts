import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { explainRequest } from './explain-core.ts';
import { type HttpEvent, httpHandler } from './http.ts';
import { metrics } from './observability.ts';
import { runtime } from './runtime.ts';

/** Explain Lambda: wiring only; the work is `explainRequest`. */
let core: ReturnType<typeof explainRequest> | undefined;

const explain = (event: HttpEvent, context: Context) => {
  if (!core) {
    const rt = runtime();
    core = explainRequest({
      models: rt.models,
      maxRows: rt.config.maxExplainRows,
      pinnedVersion: rt.config.modelVersion,
      alias: rt.config.modelAlias,
    });
  }
  return core(event, context);
};

export const handler = httpHandler(explain).use(logMetrics(metrics));
