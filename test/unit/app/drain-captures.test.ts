import { describe, expect, it } from 'vitest';
import { drainParkedCaptures, type ParkedBatch, parkedBatchesOf } from '#app/drain-captures.ts';
import { METRICS } from '#contracts';
import type { CapturedRow, CaptureSink, CaptureWriteResult, MetricDatum } from '#core/ports.ts';

const row = (model: string, index: number): CapturedRow => ({
  model,
  version: 1,
  at: '2026-01-05T10:20:00.000Z',
  requestId: `req-${model}`,
  index,
  features: { cpu: index },
  score: 0.4,
  anomaly: false,
});

/**
 * A capture path with a behaviour per call: `ok` stores all, `down` stores none (retryable: rows go to
 * the sink's park hook), `half` stores the even indices and parks the odd ones, `refuse` stores none
 * and reports them lost, `throw` throws.
 */
function path(mode: 'ok' | 'down' | 'half' | 'refuse' | 'throw') {
  const stored: CapturedRow[] = [];
  const openSink = (park: (rows: readonly CapturedRow[], reason: string) => Promise<void>): CaptureSink => ({
    async write(rows): Promise<CaptureWriteResult> {
      if (mode === 'throw') throw new Error('socket hang up');
      if (mode === 'refuse') return { written: 0, parked: 0, lost: rows.length, reason: 'AccessDenied' };
      const take = mode === 'ok' ? rows : mode === 'half' ? rows.filter((r) => r.index % 2 === 0) : [];
      const rest = rows.filter((r) => !take.includes(r));
      stored.push(...take);
      if (rest.length) await park(rest, 'ServiceUnavailableException');
      return { written: take.length, parked: rest.length, lost: 0 };
    },
  });
  return { stored, openSink };
}

function deps(mode: Parameters<typeof path>[0], reparkFails = false) {
  const p = path(mode);
  const reparked: CapturedRow[] = [];
  const emitted: { data: readonly MetricDatum[]; dims?: Record<string, string> }[] = [];
  const errors: string[] = [];
  return {
    stored: p.stored,
    reparked,
    emitted,
    errors,
    deps: {
      openSink: p.openSink,
      repark: async (rows: readonly CapturedRow[]) => {
        if (reparkFails) throw new Error('queue refused');
        reparked.push(...rows);
      },
      metrics: {
        emit: (data: readonly MetricDatum[], dims?: Record<string, string>) =>
          void emitted.push({ data, dims }),
      },
      logger: { debug() {}, info() {}, warn() {}, error: (m: string) => void errors.push(m) },
    },
  };
}

const batches: ParkedBatch[] = [
  { id: 'm1', rows: [row('a', 0), row('a', 1), row('a', 2)] },
  { id: 'm2', rows: [row('b', 0), row('b', 1)] },
];
const metric = (e: ReturnType<typeof deps>['emitted'], model: string, name: string) =>
  e.filter((x) => x.dims?.model === model).flatMap((x) => x.data.filter((d) => d.name === name))[0]?.value;

describe('drainParkedCaptures', () => {
  it('writes every parked row and acknowledges every batch when the path is healthy', async () => {
    const d = deps('ok');
    const r = await drainParkedCaptures(batches, d.deps);
    expect(r).toMatchObject({ keep: [], drained: 5, reparked: 0, kept: 0 });
    expect(d.stored).toHaveLength(5);
    expect(metric(d.emitted, 'a', METRICS.capturesDrained)).toBe(3);
    expect(metric(d.emitted, 'b', METRICS.capturesDrained)).toBe(2);
  });

  it('keeps every batch untouched while the path is down (no re-park, so no hot loop)', async () => {
    const d = deps('down');
    const r = await drainParkedCaptures(batches, d.deps);
    expect(r).toMatchObject({ keep: ['m1', 'm2'], drained: 0, reparked: 0, kept: 5 });
    expect(d.reparked).toHaveLength(0);
    expect(d.stored).toHaveLength(0);
  });

  it('acknowledges a partly written batch after parking exactly its unwritten rest again', async () => {
    const d = deps('half');
    const r = await drainParkedCaptures(batches, d.deps);
    expect(r.keep).toEqual([]);
    expect(d.stored.map((x) => `${x.model}${x.index}`)).toEqual(['a0', 'a2', 'b0']);
    expect(d.reparked.map((x) => `${x.model}${x.index}`)).toEqual(['a1', 'b1']);
    expect(r.drained + r.reparked).toBe(5);
    expect(metric(d.emitted, 'a', METRICS.capturesReparked)).toBe(1);
  });

  it('keeps a partly written batch when its rest cannot be parked again', async () => {
    const d = deps('half', true);
    const r = await drainParkedCaptures(batches, d.deps);
    expect(r.keep).toEqual(['m1', 'm2']);
    expect(r.kept).toBe(5);
    expect(d.errors).toContain('PARKED CAPTURES COULD NOT BE PARKED AGAIN');
  });

  it('keeps batches the path refuses or throws on, and says so in the log', async () => {
    for (const mode of ['refuse', 'throw'] as const) {
      const d = deps(mode);
      const r = await drainParkedCaptures(batches, d.deps);
      expect(r.keep).toEqual(['m1', 'm2']);
      expect(r.drained).toBe(0);
    }
    expect(deps('refuse').errors).toEqual([]);
    const d = deps('refuse');
    await drainParkedCaptures(batches, d.deps);
    expect(d.errors).toContain('PARKED CAPTURES REFUSED ON DRAIN');
  });
});

describe('parkedBatchesOf', () => {
  it('reads the parking queue bodies and sets apart what is not one', () => {
    const good = JSON.stringify({ reason: 'x', parkedAt: '2026-01-05T10:20:00.000Z', rows: [row('a', 0)] });
    const { batches: b, malformed } = parkedBatchesOf([
      { messageId: 'ok', body: good },
      { messageId: 'not-json', body: '{' },
      { messageId: 'wrong-shape', body: JSON.stringify({ rows: [{ model: 'a' }] }) },
    ]);
    expect(b).toEqual([{ id: 'ok', rows: [row('a', 0)] }]);
    expect(malformed).toEqual(['not-json', 'wrong-shape']);
  });
});
