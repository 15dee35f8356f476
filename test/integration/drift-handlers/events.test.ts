import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PutEventsCommand, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import {
  EventBridgePublisher,
  EventPublishError,
  FileEventPublisher,
  MemoryEventPublisher,
} from '#adapters/events.ts';
import { DRIFT_EVENT } from '#contracts';
import type { DomainEvent } from '#core/ports.ts';

const event = (i: number): DomainEvent => ({
  source: DRIFT_EVENT.source,
  detailType: DRIFT_EVENT.detailType,
  detail: { model: `m${i}`, i },
});

/**
 * Stands in for EventBridge's PutEvents (the AWS side, not the publisher):
 * `refuse(entryDetail, call)` says whether an entry is refused on a given call,
 * as EventBridge does with FailedEntryCount and a per-entry ErrorCode.
 */
function fakeEventBridge(refuse: (detail: { i: number }, call: number) => boolean) {
  const calls: Array<Array<{ i: number }>> = [];
  const accepted: number[] = [];
  const client = {
    async send(cmd: PutEventsCommand): Promise<PutEventsCommandOutput> {
      const entries = cmd.input.Entries ?? [];
      const details = entries.map((e) => JSON.parse(e.Detail ?? '{}') as { i: number });
      calls.push(details);
      const call = calls.length;
      const results = details.map((d) => {
        if (refuse(d, call)) return { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' };
        accepted.push(d.i);
        return { EventId: `id-${d.i}-${call}` };
      });
      return {
        FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
        Entries: results,
        $metadata: {},
      };
    },
  };
  return { client, calls, accepted };
}

const noSleep = { sleep: async () => undefined, random: () => 0.5 };

describe('EventBridgePublisher', () => {
  it('re-sends only the refused entries until EventBridge accepts them all', async () => {
    // Odd events are refused on the first two calls.
    const eb = fakeEventBridge((d, call) => d.i % 2 === 1 && call <= 2);
    const publisher = new EventBridgePublisher({ client: eb.client, eventBusName: 'bus', ...noSleep });
    await publisher.publish([0, 1, 2, 3].map(event));
    expect(eb.calls.map((c) => c.map((d) => d.i))).toEqual([
      [0, 1, 2, 3],
      [1, 3],
      [1, 3],
    ]);
    expect(eb.accepted.sort()).toEqual([0, 1, 2, 3]);
  });

  it('rejects naming the events still refused after every attempt, instead of dropping them', async () => {
    const eb = fakeEventBridge((d) => d.i === 2);
    const publisher = new EventBridgePublisher({
      client: eb.client,
      eventBusName: 'bus',
      maxAttempts: 3,
      ...noSleep,
    });
    const err = await publisher.publish([0, 1, 2].map(event)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventPublishError);
    expect((err as EventPublishError).failures).toEqual([
      { detailType: DRIFT_EVENT.detailType, errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded' },
    ]);
    expect(eb.calls).toHaveLength(3);
    expect(eb.accepted.sort()).toEqual([0, 1]);
  });

  it('sends at most 10 entries per PutEvents call, on the configured bus with the contract names', async () => {
    const seen: PutEventsCommand[] = [];
    const client = {
      async send(cmd: PutEventsCommand): Promise<PutEventsCommandOutput> {
        seen.push(cmd);
        const n = cmd.input.Entries?.length ?? 0;
        return {
          FailedEntryCount: 0,
          Entries: Array.from({ length: n }, (_, i) => ({ EventId: `${i}` })),
          $metadata: {},
        };
      },
    };
    await new EventBridgePublisher({ client, eventBusName: 'vigil-bus', ...noSleep }).publish(
      Array.from({ length: 23 }, (_, i) => event(i)),
    );
    expect(seen.map((c) => c.input.Entries?.length)).toEqual([10, 10, 3]);
    const first = seen[0].input.Entries?.[0];
    expect(first).toMatchObject({
      EventBusName: 'vigil-bus',
      Source: 'vigil.drift',
      DetailType: 'vigil.drift.detected',
    });
    expect(JSON.parse(first?.Detail ?? '')).toEqual({ model: 'm0', i: 0 });
  });

  it('retries a call that throws and rejects when it never succeeds', async () => {
    let calls = 0;
    const flaky = {
      async send(cmd: PutEventsCommand): Promise<PutEventsCommandOutput> {
        calls++;
        if (calls === 1) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        return {
          FailedEntryCount: 0,
          Entries: (cmd.input.Entries ?? []).map(() => ({ EventId: 'x' })),
          $metadata: {},
        };
      },
    };
    await new EventBridgePublisher({ client: flaky, eventBusName: 'b', ...noSleep }).publish([event(0)]);
    expect(calls).toBe(2);

    const down = {
      async send(): Promise<PutEventsCommandOutput> {
        throw Object.assign(new Error('no route'), { name: 'NetworkingError' });
      },
    };
    const err = await new EventBridgePublisher({
      client: down,
      eventBusName: 'b',
      maxAttempts: 2,
      ...noSleep,
    })
      .publish([event(0)])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventPublishError);
    expect((err as EventPublishError).failures[0].errorCode).toBe('NetworkingError');
  });
});

describe('local publishers', () => {
  it('FileEventPublisher appends one EventBridge-shaped JSON line per event', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-events-'));
    try {
      const file = path.join(dir, 'nested', 'events.jsonl');
      const now = () => new Date('2025-06-01T00:00:00.000Z');
      const p = new FileEventPublisher(file, now);
      await p.publish([event(1)]);
      await p.publish([event(2), { ...event(3), time: '2025-01-01T00:00:00.000Z' }]);
      const lines = (await readFile(file, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatchObject({
        version: '0',
        source: 'vigil.drift',
        'detail-type': 'vigil.drift.detected',
        time: '2025-06-01T00:00:00.000Z',
        detail: { model: 'm1', i: 1 },
      });
      expect(lines[2].time).toBe('2025-01-01T00:00:00.000Z');
      expect(new Set(lines.map((l) => l.id)).size).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('MemoryEventPublisher keeps the events and hands each to its callback', async () => {
    const seen: string[] = [];
    const p = new MemoryEventPublisher((e) => seen.push(e['detail-type']));
    await p.publish([event(1), event(2)]);
    expect(p.events.map((e) => e.detail.i)).toEqual([1, 2]);
    expect(seen).toEqual([DRIFT_EVENT.detailType, DRIFT_EVENT.detailType]);
  });
});
