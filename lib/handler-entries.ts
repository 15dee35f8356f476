import { HANDLERS } from '#contracts';

/** Names of the Lambda handlers (keys of `HANDLERS` in `lambdas/contracts.ts`). */
export type HandlerName = keyof typeof HANDLERS;

/** Entry file per handler, relative to the repo root or absolute. */
export type HandlerEntries = Readonly<Record<HandlerName, string>>;

/**
 * Entry files to build, `HANDLERS` unless overridden. Overrides exist for tests that assert
 * infrastructure before every handler file has been written; the app itself never passes any.
 */
export const handlerEntries = (overrides: Partial<HandlerEntries> = {}): HandlerEntries => ({
  ...HANDLERS,
  ...overrides,
});
