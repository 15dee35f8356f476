import type { Logger } from '#core/ports.ts';
import type { ReleaseStore } from '#core/release/ports.ts';
import type { ReleaseRecord } from '#core/release/types.ts';

interface Entry {
  /** `<releaseId>#<revision>` of the active release, '' for none. */
  readonly key: string;
  readonly record?: ReleaseRecord;
  readonly expires: number;
}

/**
 * What the score path knows of each model's active release, read through a per-process cache
 * with a short TTL (like the alias cache; one consistent GetItem per model per TTL):
 *
 * - `shadowVersion(model)`: the candidate to score in-process while the release is in `shadow`;
 * - whenever the active release changes (any update of its record, its end, a new one), `onChange`
 *   runs for that model — the score function drops its alias cache then, so once a release
 *   machine has moved the registry's `production` alias and then written its record, every warm
 *   unpinned instance re-resolves the alias within `ttlMs` (plus one request in flight), not
 *   within the alias cache's longer TTL. The release machine waits that long before moving `live`.
 *
 * A failed read never fails a request: the last known state is kept for another TTL and the
 * failure is logged.
 */
export class ReleaseWatch {
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Entry>>();

  constructor(
    private readonly deps: {
      readonly releases: Pick<ReleaseStore, 'active'>;
      readonly ttlMs: number;
      readonly logger: Logger;
      readonly onChange?: (model: string) => void;
      readonly now?: () => number;
    },
  ) {}

  /** The candidate version to shadow-score with, when `model`'s release is in its shadow phase. */
  async shadowVersion(model: string): Promise<number | undefined> {
    const r = (await this.#entry(model)).record;
    return r?.phase === 'shadow' ? r.candidateVersion : undefined;
  }

  async #entry(model: string): Promise<Entry> {
    const now = (this.deps.now ?? Date.now)();
    const hit = this.#entries.get(model);
    if (hit && hit.expires > now) return hit;
    let p = this.#pending.get(model);
    if (!p) {
      p = this.#refresh(model, hit, now).finally(() => this.#pending.delete(model));
      this.#pending.set(model, p);
    }
    return p;
  }

  async #refresh(model: string, previous: Entry | undefined, now: number): Promise<Entry> {
    let next: Entry;
    try {
      const record = await this.deps.releases.active(model);
      next = {
        key: record ? `${record.releaseId}#${record.revision}` : '',
        ...(record ? { record } : {}),
        expires: now + this.deps.ttlMs,
      };
    } catch (error) {
      this.deps.logger.warn('release record read failed; keeping the last known state', {
        model,
        error: (error as Error)?.message,
      });
      next = {
        key: previous?.key ?? '',
        ...(previous?.record ? { record: previous.record } : {}),
        expires: now + this.deps.ttlMs,
      };
    }
    this.#entries.set(model, next);
    if (previous && previous.key !== next.key) this.deps.onChange?.(model);
    return next;
  }
}
