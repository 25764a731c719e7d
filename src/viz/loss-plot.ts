/**
 * Loss curves: Vega-Lite builds the chart, Vega renders it to SVG headless
 * (no canvas needed), and resvg rasterises that SVG when a PNG is asked for.
 * The libraries are imported lazily since they add ~200 ms to start-up and
 * most runs only plot at the end; a LossPlotter loads them on a worker thread
 * while the run trains.
 */
import type { TopLevelSpec } from 'vega-lite';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { writeFileAtomic } from '../io/atomic.js';

export interface LossSeries {
  name: string;
  values: number[];
  /** x of each value (e.g. the epoch of a validation loss); default 1, 2, 3, … */
  steps?: number[];
}

export interface LossPlotOptions {
  title?: string;
  /** Default 'step'. */
  xLabel?: string;
  /** Default 'loss'. */
  yLabel?: string;
  /** Plot area size in CSS pixels (default 640 × 360). */
  width?: number;
  height?: number;
  /** Logarithmic y axis; values <= 0 are then left out. */
  logY?: boolean;
  /** PNG pixels per CSS pixel (default 2, for sharp text). */
  pixelRatio?: number;
  /** Extra font files for PNG text, for machines without system fonts. */
  fontFiles?: string[];
}

interface Point {
  series: string;
  x: number;
  y: number | null;
}

function checkSeries(series: readonly LossSeries[]): void {
  if (series.length === 0) throw new Error('writeLossPlot: series is empty; nothing to plot');
  const seen = new Set<string>();
  for (const [i, s] of series.entries()) {
    if (typeof s.name !== 'string' || s.name === '') {
      throw new Error(`writeLossPlot: series[${i}] needs a non-empty name`);
    }
    if (seen.has(s.name)) {
      throw new Error(`writeLossPlot: series name '${s.name}' is used twice; lines would merge`);
    }
    seen.add(s.name);
    if (s.steps && s.steps.length !== s.values.length) {
      throw new Error(
        `writeLossPlot: series '${s.name}' has ${s.values.length} values but ${s.steps.length} steps`,
      );
    }
  }
}

/** The Vega-Lite spec for these curves (exposed so callers can tweak or save it). */
export function lossPlotSpec(series: readonly LossSeries[], options: LossPlotOptions = {}): TopLevelSpec {
  checkSeries(series);
  const { title, xLabel = 'step', yLabel = 'loss', width = 640, height = 360, logY = false } = options;
  const points: Point[] = [];
  let longest = 0;
  for (const s of series) {
    longest = Math.max(longest, s.values.length);
    s.values.forEach((v, i) => {
      // Non-finite losses (a diverged run) become gaps instead of breaking the axis.
      const ok = Number.isFinite(v) && (!logY || v > 0);
      points.push({ series: s.name, x: s.steps ? s.steps[i]! : i + 1, y: ok ? v : null });
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(title ? { title } : {}),
    width,
    height,
    background: 'white',
    data: { values: points },
    // Points make short curves (a few epochs, or one value) visible.
    mark: { type: 'line', point: longest <= 30, strokeWidth: 1.5 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: xLabel,
        scale: { zero: false },
        // Integer steps/epochs: no "1.0, 1.5" ticks.
        ...(points.every((p) => Number.isInteger(p.x)) ? { axis: { format: 'd', tickMinStep: 1 } } : {}),
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: yLabel,
        scale: logY ? { type: 'log' } : { zero: false },
      },
      color: {
        field: 'series',
        type: 'nominal',
        scale: { domain: series.map((s) => s.name) },
        legend: { title: null },
      },
    },
  };
}

/** Vega and Vega-Lite, imported once. */
export function loadPlotting(): Promise<[typeof import('vega'), typeof import('vega-lite')]> {
  return Promise.all([import('vega'), import('vega-lite')]);
}

/** The plot as an SVG document. */
export async function lossPlotSvg(series: readonly LossSeries[], options: LossPlotOptions = {}): Promise<string> {
  const spec = lossPlotSpec(series, options);
  const [vega, vl] = await loadPlotting();
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The plot as PNG bytes. */
export async function lossPlotPng(series: readonly LossSeries[], options: LossPlotOptions = {}): Promise<Buffer> {
  const svg = await lossPlotSvg(series, options);
  const { renderAsync } = await import('@resvg/resvg-js');
  const image = await renderAsync(svg, {
    fitTo: { mode: 'zoom', value: options.pixelRatio ?? 2 },
    background: 'white',
    // Vega asks for 'sans-serif', which resvg resolves via the default family;
    // left unset it picks the first system font, often a serif one.
    font: {
      loadSystemFonts: true,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
      fontFiles: options.fontFiles ?? [],
    },
    logLevel: 'error',
  });
  return image.asPng();
}

/** Writes the plot as SVG or PNG, chosen by the extension of `path`. */
export async function writeLossPlot(
  path: string,
  series: readonly LossSeries[],
  options: LossPlotOptions = {},
): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg') {
    await writeFileAtomic(path, await lossPlotSvg(series, options));
  } else if (ext === '.png') {
    await writeFileAtomic(path, await lossPlotPng(series, options));
  } else {
    throw new Error(`writeLossPlot: ${path} must end in .svg or .png`);
  }
}

/**
 * Renders SVG loss plots on a worker thread that starts loading Vega when the plotter is created, so a
 * training run's main thread trains instead (`forja train autoencoder`: ~0.25 s of a ~1.5 s process).
 * If the worker cannot start, plots render in this thread. close() when done.
 */
export class LossPlotter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { series: readonly LossSeries[]; options: LossPlotOptions; resolve: (svg: string) => void; reject: (err: Error) => void }>();
  private nextId = 0;

  constructor() {
    const source = extname(fileURLToPath(import.meta.url)) === '.ts';
    const entry = new URL(`./plot-worker${source ? '.ts' : '.js'}`, import.meta.url);
    try {
      // Running from source (tests, development), the worker registers tsx first: workers do not inherit `--import tsx`.
      this.worker = source
        ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true })
        : new Worker(entry);
    } catch {
      return;
    }
    this.worker.unref(); // an idle plotter does not keep the process alive
    this.worker.on('message', ({ id, svg, error }: { id: number; svg?: string; error?: string }) => {
      const request = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) this.worker?.unref();
      if (error !== undefined) request?.reject(new Error(error));
      else request?.resolve(svg!);
    });
    this.worker.on('error', () => this.fallBack());
    this.worker.on('exit', () => this.fallBack());
  }

  /** Whether plots render on the worker (false once it failed to start, died, or was closed). */
  get onWorker(): boolean {
    return this.worker !== undefined;
  }

  /** Writes the plot as SVG or PNG, chosen by the extension of `path` (PNG renders in this thread). */
  async write(path: string, series: readonly LossSeries[], options: LossPlotOptions = {}): Promise<void> {
    if (extname(path).toLowerCase() !== '.svg') return writeLossPlot(path, series, options);
    await writeFileAtomic(path, await this.svg(series, options));
  }

  svg(series: readonly LossSeries[], options: LossPlotOptions = {}): Promise<string> {
    const worker = this.worker;
    if (!worker) return lossPlotSvg(series, options);
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { series, options, resolve, reject });
      worker.ref();
      worker.postMessage({ id, series, options });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
    this.renderPendingHere();
  }

  /** The worker died: later plots render here. */
  private fallBack(): void {
    this.worker = undefined;
    this.renderPendingHere();
  }

  private renderPendingHere(): void {
    for (const { series, options, resolve, reject } of this.pending.values()) lossPlotSvg(series, options).then(resolve, reject);
    this.pending.clear();
  }
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Writes rows (e.g. one per epoch) as CSV. Columns are the union of the rows'
 * keys in first-seen order; a key missing from a row leaves its cell empty.
 */
export async function writeLossCsv(path: string, rows: readonly Record<string, number>[]): Promise<void> {
  const columns: string[] = [];
  const known = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!known.has(key)) {
        known.add(key);
        columns.push(key);
      }
    }
  }
  const lines = [columns.map(csvField).join(',')];
  rows.forEach((row, i) => {
    lines.push(
      columns
        .map((key) => {
          const v = row[key];
          if (v === undefined) return '';
          if (typeof v !== 'number') {
            throw new TypeError(`writeLossCsv: rows[${i}].${key} is ${typeof v}, expected a number`);
          }
          return String(v);
        })
        .join(','),
    );
  });
  await writeFileAtomic(path, rows.length === 0 ? '' : `${lines.join('\n')}\n`);
}
