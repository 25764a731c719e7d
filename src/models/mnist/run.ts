/**
 * One training run of an MNIST model, as `forja train` does it: a
 * TrainingTask over a seeded train/validation split (1,000 held out) with
 * seeded batches per epoch, run by the one Trainer, plus the artifacts a
 * person looks at.
 *
 * Run directory:
 *   config.json, model.safetensors    the trained model (saveModel), each epoch
 *   checkpoint.safetensors             the Trainer's checkpoint: everything a resume needs
 *   run.json                           settings, per-epoch history and, once finished, the result
 *   loss.csv, loss.svg                 per-epoch losses
 *   reconstructions.png / samples.png  originals above reconstructions / new digits
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gatherRows, epochOrder, batchCount, mnistSplit, type ImageDataset } from '../../data/index.js';
import { writeJsonAtomic } from '../../io/atomic.js';
import { backupAndRestore, CHECKPOINT_FILE, csvLogger, modelCheckpoint, readCheckpointRun, ResumeMismatchError, Trainer, type Callback, type HistoryRow, type Logs, type TrainingTask, type TrainOutcome } from '../../train/index.js';
import { LossPlotter, writeImageGrid, type LossSeries } from '../../viz/index.js';
import { readRunFile, RUN_FILE, RUN_FORMAT, type RunFile, type RunResult, type RunSettings } from './run-file.js';
import { legacyMnistCheckpoint, trainingState } from './state.js';
import { MNIST_PIXELS, type MnistModel, type MnistModelSpec, type MnistTrainer } from './spec.js';

export { readRunInfo, type RunInfo, type RunResult } from './run-file.js';
export { CHECKPOINT_FILE };

/** Validation digits held out of training. */
export const VALIDATION_COUNT = 1000;
/** Rows of the preview grids. */
const PREVIEW_COUNT = 64;
const RECONSTRUCTION_PAIRS = 20;

/**
 * Settings left out take the model's defaults, or when resuming, the
 * checkpoint's (given ones must then agree with it; `epochs` may grow).
 */
export interface RunOptions extends Partial<Omit<RunSettings, 'model'>> {
  outDir: string;
  /** Continue from `outDir`'s checkpoint. */
  resume?: boolean;
  /** Progress and anything else the caller wants to watch (the CLI's progress bar). */
  callbacks?: readonly Callback[];
  /** Stops after the current step; the checkpoint is written first and the result says `interrupted`. */
  signal?: AbortSignal;
}

/** Resuming a directory with nothing to continue. */
export class NothingToResumeError extends Error {
  override name = 'NothingToResumeError';
  constructor(
    readonly dir: string,
    readonly reason: 'no-checkpoint' | 'finished',
    readonly epochs: number = 0,
  ) {
    super(reason === 'no-checkpoint' ? `${dir} holds no checkpoint to resume` : `${dir} already finished its ${epochs} epochs`);
  }
}

/** The training and validation digits for a run. */
export function runData(seed: number, limit?: number): { train: ImageDataset; val: ImageDataset } {
  const { train, val } = mnistSplit({ seed, validation: VALIDATION_COUNT });
  if (limit === undefined) return { train, val };
  return { train: firstRows(train, limit), val: firstRows(val, Math.min(limit, val.count)) };
}

function firstRows(ds: ImageDataset, count: number): ImageDataset {
  const n = Math.min(count, ds.count);
  return { ...ds, images: ds.images.subarray(0, n * MNIST_PIXELS), labels: ds.labels.subarray(0, n), count: n };
}

/** Whether `dir` holds a run of `model` that --resume can continue (or finish writing). */
export async function isResumableRun(dir: string, model: string): Promise<boolean> {
  if (!existsSync(join(dir, CHECKPOINT_FILE))) return false;
  const run = await readCheckpointRun(join(dir, CHECKPOINT_FILE), legacyMnistCheckpoint).catch(() => undefined);
  return run?.meta.model === model;
}

/** Train `spec` as `options` say; resolves with the summary once the artifacts are written. */
export async function trainRun(spec: MnistModelSpec, options: RunOptions): Promise<RunResult> {
  const plotter = new LossPlotter(); // loads the plotting libraries on another thread while this one loads data and trains
  try {
    return await trainAndWrite(spec, options, plotter);
  } finally {
    await plotter.close();
  }
}

async function trainAndWrite(spec: MnistModelSpec, options: RunOptions, plotter: LossPlotter): Promise<RunResult> {
  const { outDir } = options;
  const checkpoint = join(outDir, CHECKPOINT_FILE);
  const settings = options.resume ? await resumeSettings(spec, options, checkpoint) : freshSettings(spec, options);
  const model = spec.create({ lr: settings.lr, seed: settings.seed });
  const { train, val } = runData(settings.seed, settings.limit ?? undefined);
  const task = mnistTask(model, settings, train, val);
  const backup = backupAndRestore({ path: checkpoint, restore: options.resume ?? false, deleteOnEnd: false, legacy: legacyMnistCheckpoint });
  const trainer: Trainer = new Trainer(task, {
    callbacks: [
      backup,
      modelCheckpoint({ save: () => model.save(outDir) }),
      csvLogger(join(outDir, 'loss.csv')),
      { onEpochEnd: (): Promise<void> => writeRunFile(outDir, settings, trainer.history.rows()) },
      ...(options.callbacks ?? []),
    ],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const started = performance.now();
  const outcome = await trainer.run();
  const result = summarize(spec, settings, outcome, (performance.now() - started) / 1000, trainer.history.rows(), outDir);
  if (outcome.interrupted) return result;
  await writeArtifacts(spec, model, settings, trainer.history.rows(), val, outDir, plotter);
  await writeRunFile(outDir, settings, trainer.history.rows(), result);
  return result;
}

/** One step per batch of the epoch's seeded order; validate on the held-out digits. */
function mnistTask(model: MnistTrainer, s: RunSettings, train: ImageDataset, val: ImageDataset): TrainingTask {
  const steps = batchCount(train.count, s.batchSize);
  const buffer = new Float32Array(s.batchSize * MNIST_PIXELS);
  const labels = new Uint8Array(s.batchSize);
  let order: Int32Array = new Int32Array(0);
  return {
    epochs: s.epochs,
    stepsInEpoch: () => steps,
    startEpoch({ epoch, step }) {
      order = epochOrder(train.count, { seed: s.seed, epoch });
      if (step === 0) model.startEpoch?.(epoch);
    },
    async trainStep({ step }) {
      const indices = order.subarray(step * s.batchSize, Math.min((step + 1) * s.batchSize, train.count));
      indices.forEach((row, i) => (labels[i] = train.labels[row]!));
      const logs = await model.trainBatch(gatherRows(train.images, MNIST_PIXELS, indices, buffer), indices.length, labels.subarray(0, indices.length));
      // Weighted by rows so a short last batch counts for what it is, as in Keras.
      return { logs, weight: indices.length };
    },
    validate: () => model.validate(val.images, val.count, val.labels),
    state: () => trainingState(model.state),
    meta: () => ({ ...s }),
  };
}

function freshSettings(spec: MnistModelSpec, options: RunOptions): RunSettings {
  return {
    model: spec.name,
    epochs: options.epochs ?? spec.defaults.epochs,
    seed: options.seed ?? 0,
    batchSize: options.batchSize ?? spec.defaults.batchSize,
    lr: options.lr ?? spec.defaults.lr,
    limit: options.limit ?? null,
  };
}

/** The checkpoint's settings, checking that the given ones agree with it (epochs may grow). */
async function resumeSettings(spec: MnistModelSpec, options: RunOptions, path: string): Promise<RunSettings> {
  if (!existsSync(path)) throw new NothingToResumeError(options.outDir, 'no-checkpoint');
  const { meta, position } = await readCheckpointRun(path, legacyMnistCheckpoint);
  const saved = meta as unknown as RunSettings;
  if (saved.model !== spec.name) throw new ResumeMismatchError('model', spec.name, saved.model, path);
  for (const key of ['seed', 'batchSize', 'lr', 'limit'] as const) {
    const given = options[key];
    if (given !== undefined && given !== saved[key]) throw new ResumeMismatchError(key, given, saved[key], path);
  }
  const settings = { ...saved, epochs: options.epochs ?? saved.epochs };
  if (position.epoch >= settings.epochs && (await readRunFile(options.outDir).catch(() => undefined))?.result) {
    throw new NothingToResumeError(options.outDir, 'finished', settings.epochs);
  }
  return settings;
}

function summarize(spec: MnistModelSpec, s: RunSettings, outcome: TrainOutcome, seconds: number, history: HistoryRow[], out: string): RunResult {
  const last: Logs = history[history.length - 1] ?? {};
  const { stepSeconds, weightHere } = outcome;
  const gan = last.g_loss !== undefined;
  return {
    model: spec.name,
    epochs: outcome.position.epoch,
    epochsAsked: s.epochs,
    trainLoss: (gan ? last.g_loss : last.loss) ?? Number.NaN,
    valLoss: last.val_loss ?? Number.NaN,
    ...(gan ? { gLoss: last.g_loss!, dLoss: last.d_loss! } : {}),
    seconds,
    trainSeconds: stepSeconds,
    samplesPerSecond: stepSeconds > 0 ? weightHere / stepSeconds : 0,
    out,
    interrupted: outcome.interrupted,
    position: outcome.position,
  };
}

async function writeRunFile(dir: string, settings: RunSettings, history: HistoryRow[], result?: RunResult): Promise<void> {
  const run: RunFile = { format: RUN_FORMAT, model: settings.model, settings, history: history.map(({ epoch, ...logs }) => ({ epoch: epoch + 1, ...logs })), ...(result ? { result } : {}) };
  await writeJsonAtomic(join(dir, RUN_FILE), run);
}

/** The loss plot and the preview grids. */
async function writeArtifacts(spec: MnistModelSpec, model: MnistModel, s: RunSettings, history: HistoryRow[], val: ImageDataset, outDir: string, plotter: LossPlotter): Promise<void> {
  // The previews run here while the plot renders on the plotter's thread.
  await Promise.all([
    plotter.write(join(outDir, 'loss.svg'), lossSeries(history), { title: `forja train ${spec.name}`, xLabel: 'epoch' }),
    writePreviews(model, val, outDir, s.seed),
  ]);
}

function lossSeries(history: readonly HistoryRow[]): LossSeries[] {
  const names = [...new Set(history.flatMap((row) => Object.keys(row)))].filter((k) => k !== 'epoch');
  return names.map((name) => {
    const rows = history.filter((row) => row[name] !== undefined);
    return { name, values: rows.map((row) => row[name]!), steps: rows.map((row) => row.epoch + 1) };
  });
}

/** reconstructions.png and/or samples.png, whichever the model can make. */
export async function writePreviews(model: MnistModel, val: ImageDataset, dir: string, seed: number): Promise<void> {
  const grid = { rows: 28, cols: 28, scale: 2 };
  if (model.reconstruct) {
    const n = Math.min(RECONSTRUCTION_PAIRS, val.count);
    const originals = val.images.subarray(0, n * MNIST_PIXELS);
    const decoded = await model.reconstruct(originals, n);
    await writeImageGrid(join(dir, 'reconstructions.png'), interleaveRows(originals, decoded, n, 10), { ...grid, gridCols: Math.min(10, n) });
  }
  if (model.sample) {
    const samples = await model.sample(PREVIEW_COUNT, seed);
    await writeImageGrid(join(dir, 'samples.png'), samples, { ...grid, gridCols: 8 });
  }
}

/** Grid order for "originals above reconstructions": `perRow` originals, then their reconstructions, and so on. */
function interleaveRows(originals: Float32Array, decoded: Float32Array, count: number, perRow: number): Float32Array {
  const out = new Float32Array(2 * count * MNIST_PIXELS);
  let at = 0;
  for (let start = 0; start < count; start += perRow) {
    const end = Math.min(count, start + perRow);
    for (const source of [originals, decoded]) {
      out.set(source.subarray(start * MNIST_PIXELS, end * MNIST_PIXELS), at);
      at += (end - start) * MNIST_PIXELS;
    }
  }
  return out;
}
