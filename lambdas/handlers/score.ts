import type { Context } from 'aws-lambda';
import { metrics } from '#adapters/observability.ts';
import { scoreRequest } from '#app/score.ts';
import { emitMetrics, type HttpEvent, httpHandler } from '#runtime/http.ts';
import { runtime } from '#runtime/root.ts';

/**
 * Score Lambda. Wiring only: configuration and adapters come from
 * `runtime()` (built once per process), the work from `scoreRequest`.
 */
let core: ReturnType<typeof scoreRequest> | undefined;

const score = (event: HttpEvent, context: Context) => {
  if (!core) {
    const rt = runtime();
    core = scoreRequest({
      models: rt.models,
      captures: rt.captures,
      captureSampleRate: rt.config.captureSampleRate,
      maxRows: rt.config.maxScoreRows,
      pinnedVersion: rt.config.modelVersion,
      alias: rt.config.modelAlias,
    });
  }
  return core(event, context);
};

export const handler = httpHandler(score).use(emitMetrics(metrics));
