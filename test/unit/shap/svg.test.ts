import { describe, expect, it } from 'vitest';
import { explainRow } from '#core/shap/explain.ts';
import { escapeXml, waterfallSvg } from '#core/shap/svg.ts';
import { randomEnsemble, randomRow, rng } from './helpers.ts';

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * A strict little XML parser for the subset SVG output uses: elements,
 * double-quoted attributes, text, the five predefined entities and numeric
 * references. Throws on anything malformed (unclosed or mismatched tags,
 * unquoted or duplicate attributes, a bare `<` or `&` in text, more than one root).
 */
function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at ${i}: ${src.slice(i, i + 40)}`);
  };
  const decode = (s: string): string => {
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(s)) fail('bare &');
    if (s.includes('<')) fail('bare <');
    return s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  };
  const skipWs = (): void => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const element = (): XmlElement => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const name = /^[A-Za-z][\w:.-]*/.exec(src.slice(i))?.[0] ?? fail('bad tag name');
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      skipWs();
      if (src.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [], text: '' };
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      const m = /^([A-Za-z_:][\w:.-]*)="([^"<]*)"/.exec(src.slice(i)) ?? fail('bad attribute');
      if (m[1] in attrs) fail(`duplicate attribute ${m[1]}`);
      attrs[m[1]] = decode(m[2]);
      i += m[0].length;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const next = src.indexOf('<', i);
      if (next < 0) fail(`unclosed <${name}>`);
      text += decode(src.slice(i, next));
      i = next;
      if (src.startsWith('</', i)) {
        const close = `</${name}>`;
        if (!src.startsWith(close, i)) fail(`mismatched close for <${name}>`);
        i += close.length;
        return { name, attrs, children, text };
      }
      children.push(element());
    }
  };
  skipWs();
  if (src.startsWith('<?xml', i)) i = src.indexOf('?>', i) + 2;
  skipWs();
  const root = element();
  skipWs();
  if (i !== src.length) fail('content after the root element');
  return root;
}

const all = (e: XmlElement): XmlElement[] => [e, ...e.children.flatMap(all)];
const texts = (root: XmlElement): string[] =>
  all(root)
    .filter((e) => e.name === 'text')
    .map((e) => e.text);

describe('parseXml (the checker itself)', () => {
  it('accepts well-formed markup and rejects broken markup', () => {
    expect(parseXml('<a x="1"><b/>t &amp; u</a>').children).toHaveLength(1);
    expect(() => parseXml('<a><b></a>')).toThrow();
    expect(() => parseXml('<a>x < y</a>')).toThrow();
    expect(() => parseXml('<a>AT&T</a>')).toThrow();
    expect(() => parseXml('<a x=1></a>')).toThrow();
    expect(() => parseXml('<a></a><b></b>')).toThrow();
  });
});

describe('waterfallSvg', () => {
  const names = ['cpu', 'memory', 'network', 'disk <io> & "queue"', 'latency'];
  const t = randomEnsemble(17, { nFeatures: 5, nTrees: 20, maxDepth: 7, aggregate: 'AVERAGE', base: 4 });
  const row = randomRow(rng(9), 5, 0);
  const e = explainRow(t, names, row, { rawHigherIsAnomalous: false, score: (raw) => 2 ** (-raw / 10) });

  it('is a well-formed standalone SVG document', () => {
    const root = parseXml(waterfallSvg(e));
    expect(root.name).toBe('svg');
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(Number(root.attrs.width)).toBeGreaterThan(0);
    expect(root.attrs.viewBox).toMatch(/^0 0 \d+ \d+$/);
  });

  it('draws one bar per feature, in ranked order, coloured by direction', () => {
    const root = parseXml(waterfallSvg(e));
    const bars = all(root).filter((x) => x.name === 'rect' && x.attrs.class === 'bar');
    expect(bars.map((b) => b.attrs['data-feature'])).toEqual(e.ranked.map((r) => r.feature));
    bars.forEach((b, i) => {
      expect(b.attrs.fill).toBe(e.ranked[i].contribution > 0 ? '#d62728' : '#1f77b4');
      expect(Number(b.attrs.width)).toBeGreaterThanOrEqual(1);
    });
  });

  it('labels the base value, every feature with its value and contribution, the output, score and axis', () => {
    const root = parseXml(waterfallSvg(e, { title: 'Row 7', rawLabel: 'mean path length' }));
    const all_ = texts(root).join('\n');
    expect(all_).toContain('Row 7');
    expect(all_).toContain('base value E[f]');
    expect(all_).toContain(e.baseValue.toFixed(2));
    expect(all_).toContain('output f(x)');
    expect(all_).toContain(`score ${e.score?.toFixed(2)}`);
    expect(all_).toContain('mean path length (lower = more anomalous) → towards anomaly');
    for (const r of e.ranked) expect(all_).toContain(r.feature);
    // The awkward name survives escaping and parsing unchanged.
    expect(texts(root).some((s) => s.startsWith('disk <io> & "queue" = '))).toBe(true);
    expect(all(root).filter((x) => x.attrs.class === 'tick-label').length).toBeGreaterThanOrEqual(3);
  });

  it('places the output marker where the base plus all bars ends (rightwards = towards anomaly)', () => {
    const root = parseXml(waterfallSvg(e));
    const line = (cls: string): XmlElement => all(root).find((x) => x.attrs.class === cls) as XmlElement;
    const bars = all(root).filter((x) => x.attrs.class === 'bar');
    const last = bars[bars.length - 1];
    const lastContribution = e.ranked[e.ranked.length - 1].contribution;
    // The last bar ends at the output marker: its right edge when it pushes towards anomaly.
    const end = lastContribution > 0 ? Number(last.attrs.x) + Number(last.attrs.width) : Number(last.attrs.x);
    expect(Math.abs(end - Number(line('output').attrs.x1))).toBeLessThanOrEqual(1.5);
    // Lower raw is more anomalous here, so an output below the base sits to its right.
    const outRight = Number(line('output').attrs.x1) > Number(line('base').attrs.x1);
    expect(outRight).toBe(e.raw < e.baseValue);
  });

  it('folds the tail into one "other features" bar when maxFeatures is smaller than the feature count', () => {
    const root = parseXml(waterfallSvg(e, { maxFeatures: 2 }));
    const bars = all(root).filter((x) => x.attrs.class === 'bar');
    expect(bars.map((b) => b.attrs['data-feature'])).toEqual([
      e.ranked[0].feature,
      e.ranked[1].feature,
      '3 other features',
    ]);
  });

  it('still draws a readable chart when every contribution is zero', () => {
    const flat = explainRow(randomEnsemble(1, { nFeatures: 2, nTrees: 1, maxDepth: 0 }), ['a', 'b'], [0, 0], {
      rawHigherIsAnomalous: true,
    });
    const root = parseXml(waterfallSvg(flat));
    expect(all(root).filter((x) => x.attrs.class === 'bar')).toHaveLength(2);
    expect(texts(root).join(' ')).not.toContain('NaN');
  });

  it('escapes all five XML special characters', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
