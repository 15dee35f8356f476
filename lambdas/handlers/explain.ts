import type { Context } from 'aws-lambda';
import { metrics } from '#adapters/observability.ts';
import { explainRequest } from '#app/explain.ts';
import { emitMetrics, type HttpEvent, httpHandler } from '#runtime/http.ts';
import { runtime } from '#runtime/root.ts';

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

export const handler = httpHandler(explain).use(emitMetrics(metrics));
