import { describe, expect, it } from 'vitest';
import { decideLabel, type IncomingLabel, MAX_LABEL_HISTORY, parseWindow } from '#core/feedback/labels.ts';

const incoming = (over: Partial<IncomingLabel> = {}): IncomingLabel => ({
  model: 'web',
  requestId: 'req-1',
  index: 0,
  label: 'anomaly',
  capture: 'captured',
  version: 3,
  predictedAt: '2025-03-01T10:00:00.000Z',
  at: '2025-03-02T09:00:00.000Z',
  by: 'key-a',
  ...over,
});

describe('decideLabel', () => {
  it('creates a first label at revision 1 with an empty history', () => {
    const d = decideLabel(undefined, incoming());
    expect(d.outcome).toBe('created');
    expect(d.record).toEqual({
      model: 'web',
      version: 3,
      requestId: 'req-1',
      index: 0,
      label: 'anomaly',
      capture: 'captured',
      predictedAt: '2025-03-01T10:00:00.000Z',
      labelledAt: '2025-03-02T09:00:00.000Z',
      labelledBy: 'key-a',
      createdAt: '2025-03-02T09:00:00.000Z',
      revision: 1,
      history: [],
    });
  });

  it('treats the same label again as nothing new: the stored record comes back untouched', () => {
    const first = decideLabel(undefined, incoming()).record;
    const again = decideLabel(first, incoming({ at: '2025-03-05T00:00:00.000Z', by: 'key-b' }));
    expect(again.outcome).toBe('unchanged');
    expect(again.record).toBe(first);
  });

  it('records a changed label as a change, keeping the previous one (who and when) in the history', () => {
    const first = decideLabel(undefined, incoming()).record;
    const d = decideLabel(first, incoming({ label: 'normal', at: '2025-03-03T00:00:00.000Z', by: 'key-b' }));
    expect(d.outcome).toBe('changed');
    expect(d.record).toMatchObject({
      label: 'normal',
      labelledAt: '2025-03-03T00:00:00.000Z',
      labelledBy: 'key-b',
      createdAt: '2025-03-02T09:00:00.000Z',
      revision: 2,
      history: [{ label: 'anomaly', labelledAt: '2025-03-02T09:00:00.000Z', labelledBy: 'key-a' }],
    });
  });

  it('keeps a version given earlier when a later change names none', () => {
    const first = decideLabel(undefined, incoming({ capture: 'unchecked', predictedAt: undefined })).record;
    const d = decideLabel(first, incoming({ label: 'normal', version: undefined, capture: 'unchecked' }));
    expect(d.record.version).toBe(3);
  });

  it('keeps at most MAX_LABEL_HISTORY earlier labels, dropping the oldest', () => {
    let r = decideLabel(undefined, incoming({ at: new Date(0).toISOString() })).record;
    for (let i = 1; i <= MAX_LABEL_HISTORY + 5; i++) {
      r = decideLabel(
        r,
        incoming({ label: i % 2 ? 'normal' : 'anomaly', at: new Date(i * 1000).toISOString() }),
      ).record;
    }
    expect(r.revision).toBe(MAX_LABEL_HISTORY + 6);
    expect(r.history).toHaveLength(MAX_LABEL_HISTORY);
    expect(r.history[0]?.labelledAt).toBe(new Date(5000).toISOString());
  });
});

describe('parseWindow', () => {
  it('reads minutes, hours and days', () => {
    expect(parseWindow('30m')).toBe(30 * 60_000);
    expect(parseWindow('24h')).toBe(86_400_000);
    expect(parseWindow('7d')).toBe(7 * 86_400_000);
    expect(parseWindow('90d')).toBe(90 * 86_400_000);
  });

  it('refuses anything else, and windows over 90 days', () => {
    for (const w of ['', '7', 'd', '0d', '07d', '1w', '-1h', '1.5h', '91d', '2161h', ' 7d', '7D']) {
      expect(() => parseWindow(w), w).toThrow(/window must look like 30m, 24h or 7d/);
    }
  });
});
