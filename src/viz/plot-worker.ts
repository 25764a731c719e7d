/** The worker thread behind LossPlotter (loss-plot.ts): it loads the plotting libraries at once, then renders on request. */
import { parentPort } from 'node:worker_threads';
import { loadPlotting, lossPlotSvg, type LossPlotOptions, type LossSeries } from './loss-plot.js';

const port = parentPort!;
void loadPlotting().catch(() => undefined); // a failure shows in the first request's reply
port.on('message', ({ id, series, options }: { id: number; series: LossSeries[]; options: LossPlotOptions }) => {
  lossPlotSvg(series, options).then(
    (svg) => port.postMessage({ id, svg }),
    (err: unknown) => port.postMessage({ id, error: err instanceof Error ? err.message : String(err) }),
  );
});
