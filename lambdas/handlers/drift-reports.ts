import * as z from 'zod/mini';
import { MODEL_NAME_PATTERN } from '#contracts';
import type { DriftReportStore } from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { type HttpEvent, type HttpResult, httpHandler, json, pathParam, validate } from '#runtime/http.ts';
import { config, driftReports, member, registry } from '#runtime/root.ts';

/** What the handler needs; tests may pass their own. */
export interface DriftReportsDeps {
  readonly reports: Pick<DriftReportStore, 'list'>;
  /** Answers "does this model exist" (404 otherwise). Without it, an unknown model has no reports. */
  readonly registry?: Pick<ModelRegistry, 'listAliases'>;
}

/** Most reports per response. */
export const MAX_REPORTS = 100;

const Query = z.strictObject({
  limit: z._default(
    z.coerce.number().check(z.refine(Number.isInteger, 'must be an integer'), z.gte(1), z.lte(MAX_REPORTS)),
    10,
  ),
});

/**
 * `GET /v1/models/{model}/drift[?limit=10]` → `{ model, reports: [...] }`, the
 * newest reports first (each as stored: see `StoredDriftReport`).
 * @throws ModelNotFoundError (404) for a model the registry does not know
 */
async function handle(deps: DriftReportsDeps, event: HttpEvent): Promise<HttpResult> {
  const model = pathParam(event, 'model', MODEL_NAME_PATTERN);
  const { limit } = validate(Query, event.queryStringParameters ?? {}, 'BadRequest');
  const [, reports] = await Promise.all([
    deps.registry?.listAliases(model),
    deps.reports.list(model, { limit }),
  ]);
  return json(200, { model, reports });
}

/** Builds the handler around given adapters. */
export const createDriftReportsHandler = (deps: DriftReportsDeps) =>
  httpHandler((event) => handle(deps, event));

const deps = member(
  (): DriftReportsDeps => ({
    reports: driftReports(),
    ...(config().registryTable ? { registry: registry() } : {}),
  }),
);

/** Lambda entry point (`HANDLERS.driftReports`). */
export const handler = httpHandler((event) => handle(deps(), event));
