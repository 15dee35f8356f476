import { appendFile, readFile, rename, rm } from 'node:fs/promises';
import type { CapturedRow, CaptureSink } from '#core/ports.ts';
import { describeError } from './dependency-errors.ts';

/** What one replay of the spool achieved. */
export interface SpoolReplay {
  /** Rows read from the spool. */
  readonly read: number;
  readonly written: number;
  /** Parked again (the table is still unavailable): back in the spool. */
  readonly parked: number;
  /** Refused for good on replay; counted, not retried again. */
  readonly lost: number;
  readonly reason?: string;
}

/**
 * The local twin's durable parking place for capture rows that could not be written (DynamoDB
 * down or throttled past the retries): one JSON line per row, appended with `O_APPEND` so
 * concurrent requests never interleave a line. `replay` moves the file aside atomically
 * (rename) before reading it, so rows parked during a replay land in a fresh file and no row is
 * read twice. JSON keeps every double exactly (shortest round-trip form).
 *
 * In AWS the same role belongs to a dead-letter queue behind the `CaptureSink` (not built yet:
 * there, rows still failing after the retries are counted as `CapturesLost`).
 */
export class FileCaptureSpool {
  #replaying?: Promise<SpoolReplay>;

  constructor(private readonly file: string) {}

  /** Appends rows durably; throws when the disk refuses (the caller then counts them lost). */
  async park(rows: readonly CapturedRow[], reason: string): Promise<void> {
    const parkedAt = new Date().toISOString();
    const lines = rows.map((row) => `${JSON.stringify({ row, reason, parkedAt })}\n`).join('');
    await appendFile(this.file, lines, { mode: 0o600 });
  }

  /** Rows waiting in the spool (reads the file). */
  async pending(): Promise<CapturedRow[]> {
    return parse(await readOrEmpty(this.file));
  }

  /**
   * Writes the spooled rows through `sink` (whose own `park` puts still-failing rows back).
   * One replay at a time; a second call joins the running one.
   */
  replay(sink: CaptureSink): Promise<SpoolReplay> {
    this.#replaying ??= this.#replay(sink).finally(() => {
      this.#replaying = undefined;
    });
    return this.#replaying;
  }

  async #replay(sink: CaptureSink): Promise<SpoolReplay> {
    const taken = `${this.file}.replaying`;
    // A replay that crashed half way left its file behind: finish that one first.
    let text = await readOrEmpty(taken);
    if (text === '') {
      try {
        await rename(this.file, taken);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT')
          return { read: 0, written: 0, parked: 0, lost: 0 };
        throw e;
      }
      text = await readOrEmpty(taken);
    }
    const rows = parse(text);
    if (rows.length === 0) {
      await rm(taken, { force: true });
      return { read: 0, written: 0, parked: 0, lost: 0 };
    }
    let r: Awaited<ReturnType<CaptureSink['write']>>;
    try {
      r = await sink.write(rows);
    } catch (e) {
      // Nothing was accounted for: leave the file for the next replay.
      return { read: rows.length, written: 0, parked: rows.length, lost: 0, reason: describeError(e) };
    }
    await rm(taken, { force: true });
    const lost = Math.max(0, rows.length - r.written - r.parked);
    return {
      read: rows.length,
      written: r.written,
      parked: r.parked,
      lost,
      ...(r.reason ? { reason: r.reason } : {}),
    };
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
