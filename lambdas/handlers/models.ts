import * as z from 'zod/mini';
import { ALIAS_NAME_PATTERN, MODEL_NAME_PATTERN, PRODUCTION_ALIAS } from '#contracts';
import { VigilError } from '#core/errors.ts';
import type { ModelRegistry } from '#core/registry/types.ts';
import { type HttpEvent, type HttpResult, httpHandler, json, pathParam, validate } from '#runtime/http.ts';
import { member, registry } from '#runtime/root.ts';

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
  alias: z.optional(z.string().check(z.regex(ALIAS_NAME_PATTERN))),
  at: z.optional(z.iso.datetime({ offset: true })),
});

async function handle(deps: ModelsDeps, raw: HttpEvent): Promise<HttpResult> {
  const { route: r, event } = route(raw);
  if (r === 'list') return json(200, { models: await deps.registry.listModels() });
  const model = pathParam(event, 'model', MODEL_NAME_PATTERN);
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

const deps = member((): ModelsDeps => ({ registry: registry() }));

/** Lambda entry point (`HANDLERS.models`). */
export const handler = httpHandler((event) => handle(deps(), event));
