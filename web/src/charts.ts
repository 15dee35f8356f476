import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** uPlot charts sized to their container (readable at 390 px as at 1280 px). */

const widthOf = (el: HTMLElement): number => Math.max(280, Math.min(el.clientWidth || 600, 1100));

export function lineChart(
  el: HTMLElement,
  opts: {
    title: string;
    x: number[];
    series: Array<{
      label: string;
      y: Array<number | null>;
      stroke: string;
      stepped?: boolean;
      points?: boolean;
      /** Join the points across x values where this series has none (two samples on one x axis). */
      spanGaps?: boolean;
    }>;
    time?: boolean;
    yLabel?: string;
    xLabel?: string;
    height?: number;
  },
): uPlot {
  const data = [opts.x, ...opts.series.map((s) => s.y)] as uPlot.AlignedData;
  const single = opts.x.length > 0 && opts.x[0] === opts.x[opts.x.length - 1];
  const plot = new uPlot(
    {
      title: opts.title,
      width: widthOf(el),
      height: opts.height ?? 220,
      scales: {
        x: {
          time: opts.time ?? false,
          // One point (a first report) would otherwise get an axis spanning years.
          ...(single
            ? {
                range: (): uPlot.Range.MinMax => [(opts.x[0] as number) - 3600, (opts.x[0] as number) + 3600],
              }
            : {}),
        },
      },
      axes: [{ label: opts.xLabel }, { label: opts.yLabel }],
      series: [
        { label: opts.xLabel ?? (opts.time ? 'time' : 'x') },
        ...opts.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          ...(s.stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
          ...(s.points ? { points: { show: true, size: 9, fill: s.stroke } } : {}),
          ...(s.spanGaps ? { spanGaps: true } : {}),
        })),
      ],
    },
    data,
    el,
  );
  plot.root.setAttribute('role', 'img');
  plot.root.setAttribute('aria-label', opts.title);
  return plot;
}

/** Empirical CDF points of a sample: x sorted, y = i/n. */
export function ecdf(sample: readonly number[]): { x: number[]; y: number[] } {
  const x = sample.slice().sort((a, b) => a - b);
  return { x, y: x.map((_, i) => (i + 1) / x.length) };
}
