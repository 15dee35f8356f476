import { VigilError } from '#core/errors.ts';
import type { CapturedRow, RecentCaptureReader } from '#core/ports.ts';
import type { ModelRegistry } from '#core/registry/types.ts';

/** Most rows one captures request returns. */
export const MAX_CAPTURES = 100;
/** Widest window one captures request may name: a day (24 hour partitions at most). */
export const MAX_CAPTURE_WINDOW_HOURS = 24;
/** Window when the request names no `from`: the hour before `to`. */
export const DEFAULT_CAPTURE_WINDOW_HOURS = 1;

/** What reading recent captures needs. */
export interface RecentCapturesDeps {
  readonly captures: RecentCaptureReader;
  /** Answers "does this model exist" (404 otherwise). */
  readonly registry?: Pick<ModelRegistry, 'listAliases'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** A captured row as the API returns it: when, which version scored it, the values as sent, the verdict. */
export type CaptureView = Pick<
  CapturedRow,
  'at' | 'version' | 'requestId' | 'index' | 'features' | 'score' | 'anomaly' | 'sampleRate'
>;

/**
 * The newest captured rows of a model in [from, to), newest first, at most `limit`.
 * `to` defaults to now, `from` to an hour before `to`; the window is at most a day.
 * @throws VigilError BadRequest for an empty or inverted window, or one wider than a day
 * @throws ModelNotFoundError (404) for a model the registry does not know
 */
export async function recentCaptures(
  deps: RecentCapturesDeps,
  model: string,
  q: { readonly limit: number; readonly from?: string; readonly to?: string },
): Promise<{ model: string; from: string; to: string; limit: number; captures: CaptureView[] }> {
  const to = q.to ? new Date(q.to) : (deps.now ?? (() => new Date()))();
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_CAPTURE_WINDOW_HOURS * 3_600_000);
  if (!(to > from)) {
    throw new VigilError(
      'BadRequest',
      `from (${from.toISOString()}) must be before to (${to.toISOString()})`,
    );
  }
  if (to.getTime() - from.getTime() > MAX_CAPTURE_WINDOW_HOURS * 3_600_000) {
    throw new VigilError(
      'BadRequest',
      `the window from … to may span at most ${MAX_CAPTURE_WINDOW_HOURS} hours; page through older rows with an earlier to`,
      { maxHours: MAX_CAPTURE_WINDOW_HOURS },
    );
  }
  const [, rows] = await Promise.all([
    deps.registry?.listAliases(model),
    deps.captures.readRecent(model, { from, to, limit: q.limit }),
  ]);
  return {
    model,
    from: from.toISOString(),
    to: to.toISOString(),
    limit: q.limit,
    captures: rows.map((r) => ({
      at: r.at,
      version: r.version,
      requestId: r.requestId,
      index: r.index,
      features: r.features,
      score: r.score,
      anomaly: r.anomaly,
      ...(r.sampleRate !== undefined ? { sampleRate: r.sampleRate } : {}),
    })),
  };
}
