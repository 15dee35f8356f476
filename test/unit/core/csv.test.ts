import { describe, expect, it } from 'vitest';
import { parseNumericCsv, toCsv } from '#core/csv.ts';

describe('numeric CSV', () => {
  it('round-trips columns', () => {
    const csv = toCsv(['a', 'b'], [Float64Array.of(1, 2.5), Float64Array.of(-3, 1e-7)]);
    const t = parseNumericCsv(csv);
    expect(t.columns).toEqual(['a', 'b']);
    expect(Array.from(t.data[0])).toEqual([1, 2.5]);
    expect(Array.from(t.data[1])).toEqual([-3, 1e-7]);
  });

  it('selects columns, handles quotes, CRLF and a BOM', () => {
    const t = parseNumericCsv('\uFEFF"x",y,z\r\n1,2,3\r\n4,5,6\r\n', ['z', 'x']);
    expect(t.columns).toEqual(['z', 'x']);
    expect(Array.from(t.data[0])).toEqual([3, 6]);
    expect(Array.from(t.data[1])).toEqual([1, 4]);
  });

  it('names the line and column of a bad value', () => {
    expect(() => parseNumericCsv('a,b\n1,2\n3,oops\n')).toThrow(/line 3, column 'b': 'oops'/);
    expect(() => parseNumericCsv('a,b\n1\n')).toThrow(/line 2: expected 2 fields/);
    expect(() => parseNumericCsv('a\n1\n', ['c'])).toThrow(/no column 'c'/);
    expect(() => parseNumericCsv('')).toThrow(/empty/);
  });

  it('keeps NaN for empty cells so callers can count them', () => {
    const t = parseNumericCsv('a\n1\n\nNaN\n');
    expect(Array.from(t.data[0]).map(Number.isNaN)).toEqual([false, true]);
  });
});
