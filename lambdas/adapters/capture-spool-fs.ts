import { appendFile, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CapturedRow } from '#core/ports.ts';

/** What one replay of the spool achieved (the drain's result over the spool's batches). */
export interface SpoolReplay {
  /** Rows read from the spool. */
  readonly read: number;
  /** Written to the capture path. */
  readonly drained: number;
  /** Rows of a partly written batch parked again (back in the spool as a new batch). */
  readonly reparked: number;
  /** Rows of batches kept for the next replay (the path still down, or refused). */
  readonly kept: number;
  readonly reason?: string;
}

/** The drain the spool hands its batches to (`drainParkedCaptures` over the root's `captureDrain`). */
export type SpoolDrain = (
  batches: readonly { readonly id: string; readonly rows: readonly CapturedRow[] }[],
) => Promise<Omit<SpoolReplay, 'read'> & { readonly keep: readonly string[] }>;

/**
 * The local twin's durable parking place for capture rows that could not be written (the table or
 * stream down or throttled past the retries): one JSON line per row, appended with `O_APPEND` so
 * concurrent requests never interleave a line. JSON keeps every double exactly (shortest
 * round-trip form).
 *
 * A replay behaves as the SQS parking queue's consumer does, through the same drain: it moves the
 * spool aside atomically (rename to `<file>.batch.<n>`, so rows parked meanwhile land in a fresh
 * file and no row is read twice); each such file is one batch, deleted once the drain
 * acknowledges it and left in place (for the next replay) when the drain keeps it.
 */
export class FileCaptureSpool {
  #replaying?: Promise<SpoolReplay>;
  #seq = 0;

  constructor(private readonly file: string) {}

  /** Appends rows durably; throws when the disk refuses (the caller then counts them lost). */
  async park(rows: readonly CapturedRow[], reason: string): Promise<void> {
    const parkedAt = new Date().toISOString();
    const lines = rows.map((row) => `${JSON.stringify({ row, reason, parkedAt })}\n`).join('');
    await appendFile(this.file, lines, { mode: 0o600 });
  }

  /** Rows waiting in the spool, batches taken aside included (reads the files). */
  async pending(): Promise<CapturedRow[]> {
    const out = parse(await readOrEmpty(this.file));
    for (const f of await this.#batchFiles()) out.push(...parse(await readOrEmpty(f)));
    return out;
  }

  /**
   * Hands the spooled rows to `drain`, one batch per file taken aside; one replay at a time
   * (a second call joins the running one).
   */
  replay(drain: SpoolDrain): Promise<SpoolReplay> {
    this.#replaying ??= this.#replay(drain).finally(() => {
      this.#replaying = undefined;
    });
    return this.#replaying;
  }

  async #replay(drain: SpoolDrain): Promise<SpoolReplay> {
    const next = `${this.file}.batch.${Date.now()}-${process.pid}-${this.#seq++}`;
    try {
      await rename(this.file, next);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const batches: { id: string; rows: CapturedRow[] }[] = [];
    for (const f of await this.#batchFiles()) {
      const rows = parse(await readOrEmpty(f));
      if (rows.length === 0) await rm(f, { force: true });
      else batches.push({ id: f, rows });
    }
    const read = batches.reduce((a, b) => a + b.rows.length, 0);
    if (read === 0) return { read: 0, drained: 0, reparked: 0, kept: 0 };
    const r = await drain(batches);
    const keep = new Set(r.keep);
    for (const b of batches) if (!keep.has(b.id)) await rm(b.id, { force: true });
    return {
      read,
      drained: r.drained,
      reparked: r.reparked,
      kept: r.kept,
      ...(r.reason ? { reason: r.reason } : {}),
    };
  }

  /** Batch files taken aside by earlier replays, oldest first. */
  async #batchFiles(): Promise<string[]> {
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.batch.`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names
      .filter((n) => n.startsWith(prefix))
      .sort()
      .map((n) => path.join(dir, n));
  }
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** Parses spool lines; a torn last line (a crash mid-append) is skipped, not fatal. */
function parse(text: string): CapturedRow[] {
  const out: CapturedRow[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push((JSON.parse(line) as { row: CapturedRow }).row);
    } catch {
      // Only the final line can be torn (appends are sequential); everything before it is whole.
    }
  }
  return out;
}
