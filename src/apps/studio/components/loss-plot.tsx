/** A run's loss curves with uPlot: x is the log's first column (epoch), one line per other column, redrawn as rows arrive. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type Row = Record<string, number>;

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

interface Props {
  columns: readonly string[];
  rows: readonly Row[];
  height?: number;
}

/** A learning rate is drawn on its own axis (right), so it does not flatten the losses. */
const isRate = (name: string): boolean => /^(lr|learning_rate)$/.test(name);

function dataOf(columns: readonly string[], rows: readonly Row[]): uPlot.AlignedData {
  const [x, ...ys] = columns;
  const xs = rows.map((r, i) => r[x!] ?? i + 1);
  return [xs, ...ys.map((c) => rows.map((r) => r[c] ?? null))] as uPlot.AlignedData;
}

export function LossPlot({ columns, rows, height = 320 }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = columns.join(',');

  useEffect(() => {
    const el = host.current;
    if (!el || columns.length < 2) return;
    const [x, ...ys] = columns;
    const hasRate = ys.some(isRate);
    const options: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height,
      scales: { x: { time: false } },
      axes: [
        // Epochs and steps are whole numbers: no 1.2, 1.4 ticks between them.
        { label: x, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
        { label: 'loss', size: 64 },
        ...(hasRate ? [{ label: 'learning rate', scale: 'rate', side: 1, size: 72, grid: { show: false }, values: (_u: uPlot, splits: number[]) => splits.map((v) => (v === 0 ? '0' : v.toExponential(1))) }] : []),
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: x },
        ...ys.map((name, i) => ({ label: name, stroke: PALETTE[i % PALETTE.length]!, width: 2, points: { size: 6 }, spanGaps: true, ...(isRate(name) && { scale: 'rate', dash: [6, 4] }) })),
      ],
    };
    const instance = new uPlot(options, dataOf(columns, rows), el);
    plot.current = instance;
    const resize = new ResizeObserver(() => instance.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      instance.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(dataOf(columns, rows));
  }, [rows, shape]);

  if (columns.length < 2) return <p class="hint">No losses logged yet.</p>;
  return <div class="loss-plot" ref={host} data-testid="loss-plot" data-points={rows.length} data-axes={columns.slice(1).some(isRate) ? 'loss rate' : 'loss'} />;
}
