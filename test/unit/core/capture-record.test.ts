import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CAPTURE_LAYOUT } from '#contracts';
import { captureRecordJson, normalizedAt, toCaptureRecord } from '#core/capture/record.ts';
import type { CapturedRow } from '#core/ports.ts';

const finiteOrNot = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, 1e16, 3e38, Number.MIN_VALUE, Number.NaN, Number.POSITIVE_INFINITY),
);
const timestamp = fc.date({
  min: new Date('1970-01-01T00:00:00Z'),
  max: new Date('2999-12-31T23:59:59Z'),
  noInvalidDate: true,
});

const row: fc.Arbitrary<CapturedRow> = fc.record(
  {
    model: fc.string({ unit: 'grapheme', maxLength: 20 }),
    version: fc.integer({ min: 1, max: 1_000_000 }),
    at: timestamp.map((d) => d.toISOString()),
    requestId: fc.string({ unit: 'binary', maxLength: 40 }),
    index: fc.nat(1000),
    features: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 12 }), finiteOrNot, { maxKeys: 8 }),
    score: finiteOrNot,
    anomaly: fc.boolean(),
    sampleRate: fc.double({ min: 0.001, max: 1, noNaN: true }),
    shadow: fc.record({ version: fc.nat(), score: fc.double(), anomaly: fc.boolean() }),
  },
  { requiredKeys: ['model', 'version', 'at', 'requestId', 'index', 'features', 'score', 'anomaly'] },
);

describe('capture record JSON (the Firehose producer’s line)', () => {
  it('is exactly JSON.stringify of the capture record, for any row', () => {
    fc.assert(
      fc.property(row, (r) => {
        expect(captureRecordJson(r)).toBe(JSON.stringify(toCaptureRecord(r)));
      }),
      { numRuns: 2000, seed: 15 },
    );
  });

  it('normalises a timestamp (and its partition hour) exactly as Date#toISOString does, whatever its form', () => {
    fc.assert(
      fc.property(timestamp, fc.constantFrom('iso', 'no-ms', 'offset', 'epoch-string'), (d, form) => {
        const iso = d.toISOString();
        const text =
          form === 'iso'
            ? iso
            : form === 'no-ms'
              ? iso.replace(/\.\d{3}Z$/, 'Z')
              : form === 'offset'
                ? iso.replace('Z', '+00:00')
                : new Date(d).toUTCString();
        expect(normalizedAt(text)).toBe(new Date(text).toISOString());
        expect(CAPTURE_LAYOUT.hour(text)).toBe(new Date(text).toISOString().slice(0, 13));
      }),
      { numRuns: 1000, seed: 15 },
    );
  });
});
