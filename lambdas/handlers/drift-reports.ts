import { z } from 'zod';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { type DriftReportStore, DynamoDriftReportStore } from '#adapters/dynamodb-drift-reports.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { logger } from '#adapters/observability.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { parseRuntimeConfig } from '#runtime/config.ts';
import { type HttpEvent, type HttpResult, httpHandler, json, pathParam, validate } from '#runtime/http.ts';

/** What the handler needs; tests and the local twin may pass their own. */
export interface DriftReportsDeps {
  readonly reports: Pick<DriftReportStore, 'list'>;
  /** Answers "does this model exist" (404 otherwise). Without it, an unknown model has no reports. */
  readonly registry?: Pick<ModelRegistry, 'listAliases'>;
}

const MODEL_PARAM = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Most reports per response. */
export const MAX_REPORTS = 100;

const Query = z.object({ limit: z.coerce.number().int().min(1).max(MAX_REPORTS).default(10) }).strict();

/**
 * `GET /v1/models/{model}/drift[?limit=10]` → `{ model, reports: [...] }`, the
 * newest reports first (each as stored: see `StoredDriftReport`).
 * @throws ModelNotFoundError (404) for a model the registry does not know
 */
async function handle(deps: DriftReportsDeps, event: HttpEvent): Promise<HttpResult> {
  const model = pathParam(event, 'model', MODEL_PARAM);
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

let defaultDeps: { key: string; deps: DriftReportsDeps } | undefined;

/**
 * Adapters from the environment, built once per process (rebuilt only if the
 * tables or endpoint change, as when the local twin restarts). Not
 * `runtime()`: this function reads two tables and needs no artifact store.
 */
function depsFromEnv(): DriftReportsDeps {
  const config = parseRuntimeConfig();
  if (!config.driftTable) throw new Error('Environment variable VIGIL_DRIFT_TABLE is required');
  const key = [config.driftTable, config.registryTable, config.dynamoEndpoint].join('|');
  if (defaultDeps?.key === key) return defaultDeps.deps;
  const client = documentClient(config.dynamoEndpoint);
  const deps: DriftReportsDeps = {
    reports: new DynamoDriftReportStore({ client, tableName: config.driftTable }),
    ...(config.registryTable
      ? {
          registry: new DynamoRegistry({
            client,
            tableName: config.registryTable,
            onWarning: (message, details) => logger.warn(message, details),
          }),
        }
      : {}),
  };
  defaultDeps = { key, deps };
  return deps;
}

/** Lambda entry point (`HANDLERS.driftReports`). */
export const handler = httpHandler((event) => handle(depsFromEnv(), event));
