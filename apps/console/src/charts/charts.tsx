import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

export interface Series {
  label: string;
  values: (number | null)[];
  color?: string;
  /** Draw against the right-hand axis (e.g. accuracy beside loss). */
  rightAxis?: boolean;
}

interface ChartProps {
  /** Said to screen readers and shown as the caption. */
  title: string;
  x: number[];
  series: Series[];
  /** x values are unix seconds (dates on the axis), else plain numbers. */
  time?: boolean;
  xLabel?: string;
  height?: number;
  testId?: string;
  /** Bars over categories (`categories[i]` names x = i) instead of lines. */
  categories?: string[];
  /** A text summary under the chart (latest values…), for everyone. */
  summary?: string;
}

/** The width the chart's box has now, followed as it resizes (phone rotation, sidebar). */
function useWidth(element: React.RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const node = element.current;
    if (!node) return;
    const observer = new ResizeObserver((entries) => {
      const next = Math.floor(entries[0]?.contentRect.width ?? 0);
      setWidth((previous) => (Math.abs(previous - next) >= 1 ? next : previous));
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [element]);
  return width;
}

/**
 * A uPlot chart (lines, or bars over categories) in a box of fixed height, so the page does
 * not move when it draws. New data updates the plot in place (`setData`), which is what lets
 * a training curve grow epoch by epoch without redrawing its frame; `data-points` and
 * `data-updates` on the figure say how many points it shows and how often it changed.
 */
export function Chart({
  title,
  x,
  series,
  time = false,
  xLabel,
  height = 240,
  testId,
  categories,
  summary,
}: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const updates = useRef(0);
  const width = useWidth(box);
  const shape = `${series.map((s) => `${s.label}:${s.rightAxis ? 'r' : 'l'}`).join('|')}#${time}#${categories?.join('|') ?? ''}`;

  // (Re)builds the plot when its series or kind change, or it first gets a width.
  useEffect(() => {
    const node = box.current;
    if (!node || width === 0) return;
    const bars = categories !== undefined;
    const hasRight = series.some((s) => s.rightAxis);
    const options: uPlot.Options = {
      width,
      height,
      // Series names only: values under the cursor would reflow the legend as it moves.
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Bars: one slot per category, half a slot of margin on each side.
        x: bars
          ? { time: false, auto: false, range: () => [-0.5, categories.length - 0.5] }
          : { time },
        ...(hasRight && { right: { auto: true } }),
      },
      axes: [
        {
          label: xLabel,
          // Daily series: ticks on whole days, written as UTC dates (the usage routes' days).
          ...(time && {
            incrs: [86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 28 * 86_400],
            values: (_u: uPlot, splits: number[]) =>
              splits.map((s) => new Date(s * 1000).toISOString().slice(5, 10)),
          }),
          ...(bars && {
            splits: () => categories.map((_, i) => i),
            values: (_u: uPlot, splits: number[]) => splits.map((i) => categories[i] ?? ''),
            rotate: 0,
            gap: 4,
          }),
        },
        { label: undefined },
        ...(hasRight ? [{ scale: 'right', side: 1 as const, grid: { show: false } }] : []),
      ],
      series: [
        { label: bars ? 'category' : (xLabel ?? 'x') },
        ...series.map((s, i) => {
          const color = s.color ?? PALETTE[i % PALETTE.length];
          return {
            label: s.label,
            stroke: color,
            width: 2,
            ...(s.rightAxis && { scale: 'right' }),
            ...(bars && {
              fill: `${color}cc`,
              paths: uPlot.paths.bars!({ size: [0.7 / Math.max(1, series.length), 80] }),
              points: { show: false },
            }),
          } satisfies uPlot.Series;
        }),
      ],
    };
    const created = new uPlot(options, [x, ...series.map((s) => s.values)], node);
    plot.current = created;
    return () => {
      created.destroy();
      plot.current = null;
    };
    // Data changes are applied by the effect below, without rebuilding.
  }, [shape, width, height]);

  useEffect(() => {
    const current = plot.current;
    if (!current) return;
    current.setData([x, ...series.map((s) => s.values)]);
    updates.current += 1;
    box.current?.parentElement?.setAttribute('data-updates', String(updates.current));
  }, [x, series]);

  return (
    <figure
      className="chart"
      data-testid={testId}
      data-points={x.length}
      data-updates={updates.current}
    >
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        className="chart-box"
        style={{ minHeight: height + 40 }}
        role="img"
        aria-label={summary ? `${title}. ${summary}` : title}
      />
      {summary && <p className="chart-summary">{summary}</p>}
    </figure>
  );
}
