/**
 * A standalone SVG waterfall chart of one explanation, built as a string (no
 * DOM, no dependencies), so the explain Lambda can return it as is.
 *
 * Reading it: the top row marks the base value E[f]; each feature row is a
 * bar from the running total before it to the running total after it (its
 * raw SHAP value), in ranked order; the bottom row marks the model output f(x).
 * The axis is in raw-output units but oriented so that **rightwards is always
 * towards anomaly**: for an isolation forest (shorter path = more anomalous)
 * the axis runs from long paths on the left to short paths on the right.
 * Bars that push towards anomaly are red and labelled `+`, the others blue
 * and labelled `−`, matching `contributions` and the summary line.
 */
import { type Explanation, formatSigned, type RankedContribution } from './explain.ts';

export interface WaterfallOptions {
  /** Chart title. @default 'Why this score' */
  readonly title?: string;
  /** Name of the raw output on the axis. @default 'raw model output' */
  readonly rawLabel?: string;
  /** Total width in px. @default 760 */
  readonly width?: number;
  /** Bars drawn before the rest is folded into one "N other features" bar. @default 20 */
  readonly maxFeatures?: number;
  /** Decimal places in labels. @default 2 */
  readonly digits?: number;
}

const TOWARDS_ANOMALY = '#d62728';
const TOWARDS_NORMAL = '#1f77b4';
const ROW = 28;
const BAR = 18;
const LABEL_W = 200;
const RIGHT_PAD = 140;
const TOP = 64;

/** Escapes text for use in SVG/XML content and double-quoted attributes. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Rounds coordinates so the markup stays short and stable. */
const px = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Tick values at 1/2/5 × 10^k steps covering [lo, hi]. */
function niceTicks(lo: number, hi: number, target = 5): number[] {
  const span = hi - lo;
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= target + 1) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return ticks;
}

/** An input value or tick: as typed, up to 6 significant digits. */
const formatInput = (v: number): string =>
  Number.isNaN(v) ? 'missing' : Number(v.toPrecision(6)).toString();

/** A model output (base, f(x), score) at `digits` places, or 2 significant digits when tiny. */
const formatOutput = (v: number, digits: number): string =>
  v !== 0 && Math.abs(v) < 0.5 * 10 ** -digits ? v.toPrecision(2) : v.toFixed(digits);

/**
 * Renders an explanation as an SVG waterfall.
 *
 * @example
 * const svg = waterfallSvg(explainRow(model, names, row, { rawHigherIsAnomalous: false }), {
 *   rawLabel: 'mean path length',
 * });
 */
export function waterfallSvg(e: Explanation, opts: WaterfallOptions = {}): string {
  const title = opts.title ?? 'Why this score';
  const rawLabel = opts.rawLabel ?? 'raw model output';
  const width = Math.max(480, opts.width ?? 760);
  const digits = opts.digits ?? 2;
  const maxFeatures = Math.max(1, opts.maxFeatures ?? 20);

  const bars: RankedContribution[] = e.ranked.slice(0, maxFeatures);
  const rest = e.ranked.slice(maxFeatures);
  if (rest.length > 0) {
    bars.push({
      feature: `${rest.length} other feature${rest.length === 1 ? '' : 's'}`,
      value: Number.NaN,
      contribution: rest.reduce((a, r) => a + r.contribution, 0),
      rawContribution: rest.reduce((a, r) => a + r.rawContribution, 0),
    });
  }

  // Running totals in raw space: base, after each bar, and the true output.
  const totals = [e.baseValue];
  for (const b of bars) totals.push(totals[totals.length - 1] + b.rawContribution);
  let lo = Math.min(...totals, e.raw);
  let hi = Math.max(...totals, e.raw);
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const x0 = LABEL_W;
  const x1 = width - RIGHT_PAD;
  // Rightwards = towards anomaly: reverse the raw axis when lower raw is more anomalous.
  const x = (v: number): number =>
    e.rawHigherIsAnomalous
      ? x0 + ((v - lo) / (hi - lo)) * (x1 - x0)
      : x1 - ((v - lo) / (hi - lo)) * (x1 - x0);

  const rows = bars.length + 2;
  const axisY = TOP + rows * ROW + 8;
  const height = axisY + 56;
  const out: string[] = [];
  const text = (tx: number, ty: number, s: string, attrs = ''): void => {
    out.push(`<text x="${px(tx)}" y="${px(ty)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`);
  };

  const scoreText = e.score === undefined ? '' : `, score ${formatOutput(e.score, digits)}`;
  const aria = `${title}: ${e.summary}`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(aria)}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(aria)}</title>`);
  out.push(`<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  text(16, 24, title, 'class="title" font-size="16" font-weight="600"');
  text(
    16,
    44,
    `red pushes towards anomaly, blue towards normal; output ${formatOutput(e.raw, digits)}${scoreText}`,
    'class="subtitle" fill="#555555"',
  );

  // Base row.
  const rowY = (i: number): number => TOP + i * ROW;
  const baseX = x(e.baseValue);
  text(x0 - 8, rowY(0) + ROW / 2 + 4, 'base value E[f]', 'class="label" text-anchor="end"');
  out.push(
    `<line class="base" x1="${px(baseX)}" y1="${px(rowY(0) + 4)}" x2="${px(baseX)}" y2="${px(rowY(0) + ROW - 4)}" stroke="#333333" stroke-width="2"/>`,
  );
  text(baseX + 6, rowY(0) + ROW / 2 + 4, formatOutput(e.baseValue, digits), 'class="value"');

  // One bar per feature.
  bars.forEach((b, i) => {
    const y = rowY(i + 1);
    const from = x(totals[i]);
    const to = x(totals[i + 1]);
    const left = Math.min(from, to);
    const w = Math.max(1, Math.abs(to - from));
    const color = b.contribution > 0 ? TOWARDS_ANOMALY : TOWARDS_NORMAL;
    const folded = rest.length > 0 && i === bars.length - 1;
    const name = folded ? b.feature : `${b.feature} = ${formatInput(b.value)}`;
    text(x0 - 8, y + ROW / 2 + 4, name, 'class="label" text-anchor="end"');
    out.push(
      `<rect class="bar" data-feature="${escapeXml(b.feature)}" x="${px(left)}" y="${px(y + (ROW - BAR) / 2)}" width="${px(w)}" height="${BAR}" fill="${color}"/>`,
    );
    // Connector from the previous running total, so the eye can follow the walk.
    out.push(
      `<line class="connector" x1="${px(from)}" y1="${px(y - (ROW - BAR) / 2)}" x2="${px(from)}" y2="${px(y + (ROW - BAR) / 2)}" stroke="#999999" stroke-dasharray="2,2"/>`,
    );
    text(
      left + w + 6,
      y + ROW / 2 + 4,
      formatSigned(b.contribution, digits),
      `class="contribution" fill="${color}"`,
    );
  });

  // Output row.
  const outY = rowY(bars.length + 1);
  const outX = x(e.raw);
  text(x0 - 8, outY + ROW / 2 + 4, 'output f(x)', 'class="label" text-anchor="end" font-weight="600"');
  out.push(
    `<line class="output" x1="${px(outX)}" y1="${px(outY + 4)}" x2="${px(outX)}" y2="${px(outY + ROW - 4)}" stroke="#000000" stroke-width="3"/>`,
  );
  text(
    outX + 6,
    outY + ROW / 2 + 4,
    `${formatOutput(e.raw, digits)}${scoreText}`,
    'class="value" font-weight="600"',
  );

  // Axis.
  out.push(
    `<line class="axis" x1="${x0}" y1="${axisY}" x2="${x1}" y2="${axisY}" stroke="#333333" stroke-width="1"/>`,
  );
  for (const v of niceTicks(lo, hi)) {
    const tx = x(v);
    out.push(
      `<line class="tick" x1="${px(tx)}" y1="${axisY}" x2="${px(tx)}" y2="${axisY + 5}" stroke="#333333"/>`,
    );
    text(tx, axisY + 18, formatInput(v), 'class="tick-label" text-anchor="middle" fill="#333333"');
  }
  const direction = e.rawHigherIsAnomalous ? 'higher = more anomalous' : 'lower = more anomalous';
  text(
    (x0 + x1) / 2,
    axisY + 40,
    `${rawLabel} (${direction}) → towards anomaly`,
    'class="axis-label" text-anchor="middle"',
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
