import { windowHours } from '#core/drift/partitions.ts';
import type { CapturedRow } from '#core/ports.ts';

/** Time order of captures: `<iso>#<requestId>#<index>` (the DynamoDB sort key's shape). */
const orderKey = (r: Pick<CapturedRow, 'at' | 'requestId' | 'index'>): string =>
  `${r.at}#${r.requestId}#${String(r.index).padStart(4, '0')}`;

/** Oldest first (a negative number when `a` comes before `b`). */
export const compareCaptures = (a: CapturedRow, b: CapturedRow): number => {
  const ka = orderKey(a);
  const kb = orderKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/**
 * The newest `limit` captures with from ≤ at < to, newest first, for a `RecentCaptureReader`:
 * hour partitions (`YYYY-MM-DDTHH`) are read newest first through `readHour` (which may return more rows than
 * `limit`, in any order), and older hours only while fewer than `limit` rows were found.
 */
export async function newestFirst(
  window: { readonly from: string | Date; readonly to: string | Date; readonly limit: number },
  readHour: (hour: string) => Promise<CapturedRow[]>,
): Promise<CapturedRow[]> {
  const out: CapturedRow[] = [];
  for (const hour of windowHours(new Date(window.from), new Date(window.to)).reverse()) {
    const found = await readHour(hour);
    found.sort((a, b) => compareCaptures(b, a));
    out.push(...found.slice(0, window.limit - out.length));
    if (out.length >= window.limit) break;
  }
  return out;
}
