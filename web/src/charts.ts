import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** uPlot charts sized to their container (readable at 390 px as at 1280 px). */

const widthOf = (el: HTMLElement): number => Math.max(280, Math.min(el.clientWidth || 600, 1100));

export function lineChart(
  el: HTMLElement,
  opts: {
    title: string;
    x: number[];
    series: Array<{ label: string; y: Array<number | null>; stroke: string; stepped?: boolean }>;
    time?: boolean;
    yLabel?: string;
    xLabel?: string;
    height?: number;
  },
): uPlot {
  const data = [opts.x, ...opts.series.map((s) => s.y)] as uPlot.AlignedData;
  const plot = new uPlot(
    {
      title: opts.title,
      width: widthOf(el),
      height: opts.height ?? 220,
      scales: { x: { time: opts.time ?? false } },
      axes: [{ label: opts.xLabel }, { label: opts.yLabel }],
      series: [
        { label: opts.xLabel ?? (opts.time ? 'time' : 'x') },
        ...opts.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          ...(s.stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
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
