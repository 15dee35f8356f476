import * as z from 'zod/mini';
import { MODEL_NAME_PATTERN } from '#contracts';
import { VigilError } from '#core/errors.ts';
import type { ModelRef } from '#core/ports.ts';
import { type HttpEvent, parseJsonBody, pathParam, validate } from './http.ts';

/** Body of score and explain requests (DESIGN.md §5); rows are checked against the model's features later. */
export const RowsBodySchema = z.strictObject({ rows: z.array(z.unknown()) });

/** Decimal digits only: `0x2`, `1e3` or ` 2` are refused rather than read as numbers. */
const VersionQuery = z.pipe(
  z.string().check(z.regex(/^[1-9][0-9]{0,6}$/)),
  z.transform((v: string) => Number(v)),
);

/** Parsed common parts of a score/explain request. */
export interface RowsRequest {
  readonly model: string;
  readonly ref: ModelRef;
  readonly rows: unknown[];
}

/**
 * Reads `{model}`, optional `?version=N` and the `{ rows: [...] }` body.
 * A pinned function (`MODEL_VERSION`) serves that version unless the caller names one.
 */
export function parseRowsRequest(
  event: HttpEvent,
  defaults: { version?: number; alias: string },
): RowsRequest {
  const model = pathParam(event, 'model', MODEL_NAME_PATTERN);
  const q = event.queryStringParameters?.version;
  let ref: ModelRef = defaults.version ? { version: defaults.version } : { alias: defaults.alias };
  if (q !== undefined) {
    const r = VersionQuery.safeParse(q);
    if (!r.success)
      throw new VigilError('BadRequest', `Query parameter 'version' must be a positive integer`);
    // A caller-chosen version must have passed approval (a pinned function's need not).
    ref = { version: r.data, approvedOnly: true };
  }
  const body = validate(RowsBodySchema, parseJsonBody(event));
  return { model, ref, rows: body.rows };
}
