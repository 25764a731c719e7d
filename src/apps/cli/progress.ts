/**
 * Keras-style per-epoch progress on a terminal:
 *
 *   Epoch 3/10
 *   36/36 [==============================] 2s 41ms/step - loss: 0.1423 - val_loss: 0.1398
 *
 * Drawn with cli-progress on stderr (stdout stays clean for --json) and only
 * when stderr is a TTY; elsewhere (pipes, CI, tests) every call is a no-op.
 */
import cliProgress from 'cli-progress';
import type { Callback, Trainer } from '../../train/index.js';

export type Metrics = Record<string, number>;

export interface EpochProgress {
  /** After `step` of the epoch's steps, with the running metrics. */
  step(step: number, metrics: Metrics): void;
  /** End of the epoch (or of a failed one), with its final metrics (e.g. adding val_loss). Later calls do nothing. */
  end(metrics: Metrics): void;
}

export interface EpochProgressOptions {
  epoch: number;
  epochs: number;
  steps: number;
  /** Default process.stderr; drawing happens only if it is a TTY. */
  stream?: NodeJS.WriteStream;
}

const BAR_WIDTH = 30;

/** "loss: 0.1423 - val_loss: 0.1398" */
export function formatMetrics(metrics: Metrics): string {
  return Object.entries(metrics)
    .map(([name, value]) => `${name}: ${formatValue(value)}`)
    .join(' - ');
}

function formatValue(value: number): string {
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? value.toExponential(3) : value.toFixed(4);
}

/** Keras prints seconds for the epoch and ms (or s) per step. */
function formatTiming(elapsedMs: number, step: number): string {
  const perStep = step > 0 ? elapsedMs / step : 0;
  const per = perStep >= 1000 ? `${(perStep / 1000).toFixed(1)}s/step` : `${Math.round(perStep)}ms/step`;
  return `${Math.round(elapsedMs / 1000)}s ${per}`;
}

function progressLine(step: number, steps: number, elapsedMs: number, metrics: Metrics): string {
  const filled = steps > 0 ? Math.floor((BAR_WIDTH * step) / steps) : BAR_WIDTH;
  const head = filled < BAR_WIDTH && step > 0 ? '>' : '';
  const bar = '='.repeat(Math.max(0, filled - head.length)) + head + '.'.repeat(BAR_WIDTH - filled);
  const width = String(steps).length;
  const metricText = formatMetrics(metrics);
  return `${String(step).padStart(width)}/${steps} [${bar}] ${formatTiming(elapsedMs, step)}${metricText ? ` - ${metricText}` : ''}`;
}

const silent: EpochProgress = { step() {}, end() {} };

/** A progress bar for one epoch; silent unless the stream is a TTY. */
export function epochProgress(options: EpochProgressOptions): EpochProgress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return silent;
  stream.write(`Epoch ${options.epoch}/${options.epochs}\n`);
  const started = Date.now();
  let metrics: Metrics = {};
  const bar = new cliProgress.SingleBar({
    stream,
    hideCursor: true,
    fps: 10,
    format: (_options, params) => progressLine(params.value, params.total, Date.now() - started, metrics),
  });
  bar.start(options.steps, 0);
  let ended = false;
  return {
    step(step, latest) {
      metrics = latest;
      bar.update(step);
    },
    end(final) {
      if (ended) return;
      ended = true;
      metrics = { ...metrics, ...final };
      bar.stop();
    },
  };
}

/**
 * The Trainer's progress as the CLI shows it: a Keras-style bar per epoch on a
 * TTY, or with `jsonLines` one JSON object per epoch on stderr (for scripts).
 */
export function progressCallback(options: { jsonLines?: boolean; stream?: NodeJS.WriteStream } = {}): Callback & { stop(): void } {
  const stream = options.stream ?? process.stderr;
  let trainer!: Trainer;
  let bar: EpochProgress | undefined;
  const open = (epoch: number): EpochProgress => epochProgress({ epoch: epoch + 1, epochs: trainer.task.epochs, steps: trainer.task.stepsInEpoch(epoch), stream });
  return {
    setTrainer: (t) => (trainer = t),
    onEpochBegin(epoch) {
      bar = open(epoch);
    },
    onBatchEnd() {
      // A run resumed inside an epoch gets its bar at the first step.
      (bar ??= open(trainer.position.epoch)).step(trainer.position.step, trainer.epochMeans);
    },
    onEpochEnd(epoch, logs) {
      bar?.end(logs);
      bar = undefined;
      if (options.jsonLines) stream.write(`${JSON.stringify({ epoch: epoch + 1, epochs: trainer.task.epochs, step: trainer.position.globalStep, ...logs })}\n`);
    },
    stop() {
      bar?.end({});
      bar = undefined;
    },
  };
}
