import { z } from 'zod';
import { documentClient } from '#adapters/dynamodb-client.ts';
import { DynamoRegistry } from '#adapters/dynamodb-registry.ts';
import { logger } from '#adapters/observability.ts';
import { ENV, PRODUCTION_ALIAS } from '#contracts';
import { VigilError } from '#core/errors.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { parseRuntimeConfig } from '#runtime/config.ts';
import {
  type HttpEvent,
  type HttpResult,
  httpHandler,
  json,
  pathParam,
  validate,
  withoutLocalPaths,
} from '#runtime/http.ts';

/**
 * Read-only registry API:
 *
 * - `GET /v1/models` → `{ models: [{ name, createdAt, latestVersion, aliases }] }`
 * - `GET /v1/models/{model}/versions` → `{ model, aliases, versions: [...] }`
 * - `GET /v1/models/{model}/history[?alias=production][&at=<ISO time>]` →
 *   `{ model, events: [...] }`, plus `{ alias, at, version }` when `at` is given
 *   ("which version served that alias at that time").
 *
 * Changes (register, approve, promote, rollback) go through the CLI.
 */

/** What the handler needs; the local twin and tests pass their own registry. */
export interface ModelsDeps {
  readonly registry: ModelRegistry;
}

const MODEL_PARAM = /^[a-z0-9][a-z0-9_-]{0,62}$/;

type Route = 'list' | 'versions' | 'history';

const ROUTE_KEYS: Record<string, Route> = {
  'GET /v1/models': 'list',
  'GET /v1/models/{model}/versions': 'versions',
  'GET /v1/models/{model}/history': 'history',
};

const PATHS: [RegExp, Route][] = [
  [/^\/v1\/models\/?$/, 'list'],
  [/^\/v1\/models\/([^/]+)\/versions\/?$/, 'versions'],
  [/^\/v1\/models\/([^/]+)\/history\/?$/, 'history'],
];

/**
 * Finds the route: API Gateway's `routeKey` when it names one of ours, else
 * the method + `rawPath` (the local twin's `$default` route), in which case
 * the `{model}` segment is lifted into `pathParameters`.
 */
function route(event: HttpEvent): { route: Route; event: HttpEvent } {
  const byKey = ROUTE_KEYS[event.routeKey];
  if (byKey) return { route: byKey, event };
  const method = event.requestContext?.http?.method ?? event.routeKey.split(' ')[0];
  if (method === 'GET') {
    for (const [re, r] of PATHS) {
      const m = re.exec(event.rawPath ?? '');
      if (m) {
        const model = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
        return {
          route: r,
          event:
            model === undefined ? event : { ...event, pathParameters: { ...event.pathParameters, model } },
        };
      }
    }
  }
  throw new VigilError('NotFound', `No route for ${method} ${event.rawPath}`, {
    method,
    path: event.rawPath,
  });
}

const HistoryQuery = z.object({
  alias: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/)
    .optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});

/** Registry records over HTTP: without the twin's local paths (artifact URIs, bootstrap reasons). */
const handle = async (deps: ModelsDeps, raw: HttpEvent): Promise<HttpResult> => {
  const res = await answer(deps, raw);
  return res.body ? { ...res, body: JSON.stringify(withoutLocalPaths(JSON.parse(res.body))) } : res;
};

async function answer(deps: ModelsDeps, raw: HttpEvent): Promise<HttpResult> {
  const { route: r, event } = route(raw);
  if (r === 'list') return json(200, { models: await deps.registry.listModels() });
  const model = pathParam(event, 'model', MODEL_PARAM);
  if (r === 'versions') {
    const [versions, aliases] = await Promise.all([
      deps.registry.listVersions(model),
      deps.registry.listAliases(model),
    ]);
    return json(200, {
      model,
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
      versions,
    });
  }
  const q = validate(HistoryQuery, event.queryStringParameters ?? {}, 'BadRequest');
  const all = await deps.registry.history(model);
  const events = q.alias ? all.filter((e) => e.alias === q.alias) : all;
  if (q.at === undefined) return json(200, { model, events });
  const alias = q.alias ?? PRODUCTION_ALIAS;
  const at = new Date(q.at);
  return json(200, {
    model,
    alias,
    at: at.toISOString(),
    version: (await deps.registry.aliasAt(model, alias, at)) ?? null,
    events,
  });
}

/** Builds the models handler around a registry (the local twin and tests call this). */
export const createModelsHandler = (deps: ModelsDeps) => httpHandler((event) => handle(deps, event));

/** The handler's configuration, parsed once from the environment. */
export interface ModelsConfig {
  readonly registryTable: string;
  readonly dynamodbEndpoint?: string;
}

/** @throws Error naming the missing/invalid variable (a deployment bug, so a 500). */
export function modelsConfig(env: NodeJS.ProcessEnv): ModelsConfig {
  // The same parser as every other handler; this one needs only the registry.
  const config = parseRuntimeConfig(env);
  if (!config.registryTable) throw new Error(`Environment variable ${ENV.REGISTRY_TABLE} is required`);
  return { registryTable: config.registryTable, dynamodbEndpoint: config.dynamoEndpoint };
}

let defaultDeps: Promise<ModelsDeps> | undefined;

/** Built on the first invocation and reused while the container is warm. */
function depsFromEnv(): Promise<ModelsDeps> {
  defaultDeps ??= Promise.resolve().then(() => {
    const config = modelsConfig(process.env);
    const registry = new DynamoRegistry({
      client: documentClient(config.dynamodbEndpoint),
      tableName: config.registryTable,
      onWarning: (message, details) => logger.warn(message, details),
    });
    return { registry };
  });
  defaultDeps.catch(() => {
    defaultDeps = undefined;
  });
  return defaultDeps;
}

/** Lambda entry point (`HANDLERS.models`). */
export const handler = httpHandler(async (event) => handle(await depsFromEnv(), event));
