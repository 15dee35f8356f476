import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
// Types only at module scope: the SDK module is imported on the first publish, so functions that
// share this module with the composition root (the score function) never load it.
import type {
  PutEventsCommand,
  PutEventsCommandOutput,
  PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { DomainEvent, EventPublisher } from '#core/ports.ts';

/** The part of an EventBridge client the publisher uses (a real `EventBridgeClient` fits). */
export interface PutEventsClient {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

/** Events that EventBridge did not accept after every retry. */
export class EventPublishError extends Error {
  readonly failures: ReadonlyArray<{
    readonly detailType: string;
    readonly errorCode: string;
    readonly errorMessage?: string;
  }>;
  constructor(failures: EventPublishError['failures']) {
    const codes = [...new Set(failures.map((f) => f.errorCode))].join(', ');
    super(`${failures.length} event(s) not published: ${codes}`);
    this.name = 'EventPublishError';
    this.failures = failures;
  }
}

export interface EventBridgePublisherOptions {
  readonly client: PutEventsClient;
  /** Bus name or ARN (`ENV.EVENT_BUS_NAME`). */
  readonly eventBusName: string;
  /** PutEvents attempts per batch, including the first. @default 5 */
  readonly maxAttempts?: number;
  /** Base of the exponential backoff (full jitter), ms. @default 100 */
  readonly baseDelayMs?: number;
  /** Cap of one backoff delay, ms. @default 2000 */
  readonly maxDelayMs?: number;
  /** Injected for tests: sleeping and randomness of the backoff. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_BATCH = 10;

/**
 * `EventPublisher` on EventBridge `PutEvents`. PutEvents succeeds as a call
 * even when some entries fail (`FailedEntryCount` > 0, an `ErrorCode` on those
 * entries), so the publisher re-sends exactly the failed entries with
 * exponential backoff and rejects with `EventPublishError` if any are still
 * refused after `maxAttempts` — never a silent drop.
 */
export class EventBridgePublisher implements EventPublisher {
  readonly #o: Required<EventBridgePublisherOptions>;

  constructor(opts: EventBridgePublisherOptions) {
    this.#o = {
      maxAttempts: 5,
      baseDelayMs: 100,
      maxDelayMs: 2000,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      ...opts,
    };
  }

  /** The PutEvents entry of an event. */
  toEntry(e: DomainEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.#o.eventBusName,
      Source: e.source,
      DetailType: e.detailType,
      Detail: JSON.stringify(e.detail),
      ...(e.time ? { Time: new Date(e.time) } : {}),
    };
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const failures: EventPublishError['failures'][number][] = [];
    for (let i = 0; i < events.length; i += PUT_EVENTS_BATCH) {
      failures.push(
        ...(await this.#sendBatch(events.slice(i, i + PUT_EVENTS_BATCH).map((e) => this.toEntry(e)))),
      );
    }
    if (failures.length > 0) throw new EventPublishError(failures);
  }

  async #sendBatch(entries: PutEventsRequestEntry[]): Promise<EventPublishError['failures'][number][]> {
    let pending = entries.map((entry) => ({
      entry,
      errorCode: 'NotSent',
      errorMessage: undefined as string | undefined,
    }));
    for (let attempt = 0; attempt < this.#o.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 0) {
        const cap = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** (attempt - 1));
        await this.#o.sleep(this.#o.random() * cap);
      }
      let out: PutEventsCommandOutput;
      try {
        const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
        out = await this.#o.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
      } catch (e) {
        // The SDK has already retried throttling/5xx; a call that still fails is retried as a whole.
        const code = (e as Error).name || 'Error';
        pending = pending.map((p) => ({ ...p, errorCode: code, errorMessage: (e as Error).message }));
        continue;
      }
      if (!out.FailedEntryCount) return [];
      const results = out.Entries ?? [];
      // Results are positional: entry i of the response belongs to entry i of the request.
      pending = pending.flatMap((p, i) => {
        const r = results[i];
        if (r && !r.ErrorCode && r.EventId) return [];
        return [{ ...p, errorCode: r?.ErrorCode ?? 'Unknown', errorMessage: r?.ErrorMessage }];
      });
    }
    return pending.map((p) => ({
      detailType: p.entry.DetailType ?? '',
      errorCode: p.errorCode,
      ...(p.errorMessage ? { errorMessage: p.errorMessage } : {}),
    }));
  }
}

/** The EventBridge envelope a local consumer sees (the same shape rules and targets receive in AWS). */
export interface LocalEventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly time: string;
  readonly detail: Record<string, unknown>;
}

const envelope = (e: DomainEvent, now: () => Date): LocalEventEnvelope => ({
  version: '0',
  id: randomUUID(),
  'detail-type': e.detailType,
  source: e.source,
  time: e.time ?? now().toISOString(),
  detail: e.detail,
});

/**
 * The local twin's event bus: appends one EventBridge-shaped JSON line per
 * event to a file (`VIGIL_EVENTS_FILE`), so a developer can `tail -f` it or
 * point a local consumer at it.
 */
export class FileEventPublisher implements EventPublisher {
  constructor(
    private readonly file: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async publish(events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    const lines = events.map((e) => `${JSON.stringify(envelope(e, this.now))}\n`).join('');
    // One append per call: the lines of a batch land together.
    await appendFile(this.file, lines, 'utf8');
  }
}

/**
 * Keeps events in memory (and hands each to `onPublish`, e.g. a logger):
 * the publisher when no bus and no events file are configured, and in tests.
 */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: LocalEventEnvelope[] = [];

  constructor(
    private readonly onPublish?: (event: LocalEventEnvelope) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async publish(events: readonly DomainEvent[]): Promise<void> {
    for (const e of events) {
      const env = envelope(e, this.now);
      this.events.push(env);
      this.onPublish?.(env);
    }
  }
}
