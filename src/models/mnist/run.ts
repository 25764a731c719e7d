/**
 * One training run of an MNIST model, as `forja train` does it: seeded
 * train/validation split (1,000 held out), seeded batches per epoch, a
 * checkpoint after every epoch, a stop on the first non-finite loss, resume,
 * and the artifacts a person looks at (loss.csv, loss.svg, a PNG grid).
 *
 * Run directory:
 *   config.json, model.safetensors   the trained model (saveModel), each epoch
 *   checkpoint.safetensors            weights + optimizer state + progress, for --resume
 *   run.json                          settings, per-epoch history and the result
 *   loss.csv, loss.svg                per-epoch losses
 *   reconstructions.png / samples.png originals above reconstructions / new digits
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { batchCount, batches, gatherRows, mnistSplit, type ImageDataset } from '../../data/index.js';
import { writeJsonAtomic } from '../../io/atomic.js';
import { writeImageGrid, writeLossCsv, writeLossPlot, type LossSeries } from '../../viz/index.js';
import { CHECKPOINT_FILE, readCheckpointMeta, restoreCheckpoint, writeCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { MNIST_PIXELS, type Metrics, type MnistModel, type MnistModelSpec, type MnistTrainer, type TrainSettings } from './spec.js';

export const RUN_FILE = 'run.json';
const RUN_FORMAT = 'forja-mnist-run';
/** Validation digits held out of training. */
export const VALIDATION_COUNT = 1000;
/** Rows of the preview grids. */
const PREVIEW_COUNT = 64;
const RECONSTRUCTION_PAIRS = 20;

/**
 * Settings left out take the model's defaults, or when resuming, the
 * checkpoint's (given ones must then agree with it; `epochs` may grow).
 */
export interface RunOptions extends Partial<TrainSettings> {
  seed?: number;
  outDir: string;
  /** Continue from `outDir`'s checkpoint. */
  resume?: boolean;
  /** Train on only the first `limit` training digits and validate on at most as many (quick tests). */
  limit?: number;
  hooks?: RunHooks;
}

/** Per-step and per-epoch callbacks (the CLI draws its progress bar from these). */
export interface RunHooks {
  epochStart?(epoch: number, epochs: number, steps: number): EpochListener;
}

export interface EpochListener {
  /** After each step, with the epoch's running mean metrics. */
  step(step: number, metrics: Metrics): void;
  /** End of the epoch, with its mean training metrics and the validation ones. */
  end(metrics: Metrics): void;
}

/** The summary `forja train --json` prints. */
export interface RunResult {
  model: string;
  /** Epochs completed in total (a resumed run counts the earlier ones). */
  epochs: number;
  /** Mean training loss of the last epoch (the generator's loss for GANs). */
  train_loss: number;
  /** Held-out loss after the last epoch (see the model's lossDoc). */
  val_loss: number;
  g_loss?: number;
  d_loss?: number;
  /** Wall time of this process's training, graph compilation included. */
  seconds: number;
  samples_per_second: number;
  out: string;
}

/** A step failed or gave a non-finite loss: training stopped; the last good checkpoint is kept. */
export class TrainingStoppedError extends Error {
  constructor(
    readonly epoch: number,
    readonly step: number,
    reason: string,
    outDir: string,
  ) {
    const kept = epoch > 1 ? `the checkpoint of epoch ${epoch - 1} in ${outDir} is kept (resume with --resume)` : 'no epoch had finished';
    super(`training stopped at epoch ${epoch}, step ${step}: ${reason}; ${kept}. A lower --lr may help.`);
  }
}

function nonFinite(metrics: Metrics): string {
  const bad = Object.entries(metrics).filter(([, v]) => !Number.isFinite(v));
  return bad.map(([k, v]) => `${k} is ${v}`).join(', ');
}

/** Settings that cannot work with the run directory (resume mismatches). */
export class RunSettingsError extends Error {}

interface RunFile {
  format: string;
  model: string;
  settings: { epochs: number; batchSize: number; lr: number; seed: number; limit: number | null };
  history: Metrics[];
  result?: RunResult;
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

/** Train `spec` as described by `options`; resolves with the summary once the artifacts are written. */
export async function trainRun(spec: MnistModelSpec, options: RunOptions): Promise<RunResult> {
  const { outDir } = options;
  const meta = options.resume ? await resumePoint(spec, options) : freshStart(spec, options);
  const trainer = spec.create({ lr: meta.lr, seed: meta.seed });
  if (options.resume) await restoreCheckpoint(join(outDir, CHECKPOINT_FILE), trainer.state);
  const { train, val } = runData(meta.seed, meta.limit ?? undefined);
  const started = performance.now();
  let trained = 0;

  for (let epoch = meta.epoch; epoch < meta.epochs; epoch++) {
    const listener = options.hooks?.epochStart?.(epoch + 1, meta.epochs, batchCount(train.count, meta.batchSize));
    trainer.startEpoch?.(epoch);
    const epochResult = await trainEpoch(trainer, train, meta, epoch, listener, outDir);
    trained += epochResult.rows;
    const validation = await trainer.validate(val.images, val.count);
    if (!allFinite(validation)) throw new TrainingStoppedError(epoch + 1, epochResult.steps, `validation ${nonFinite(validation)}`, outDir);
    const metrics = { ...epochResult.metrics, ...validation };
    listener?.end(metrics);
    meta.history.push({ epoch: epoch + 1, ...metrics });
    meta.epoch = epoch + 1;
    await saveEpoch(trainer, meta, outDir);
  }

  const seconds = (performance.now() - started) / 1000;
  const result = summarize(spec, meta, seconds, trained, outDir);
  await writeArtifacts(spec, trainer, meta, val, outDir);
  await writeRunFile(outDir, meta, result);
  return result;
}

const allFinite = (metrics: Metrics): boolean => Object.values(metrics).every(Number.isFinite);

/** One pass over the training digits in this epoch's seeded order; the epoch's row-weighted mean metrics. */
async function trainEpoch(
  trainer: MnistTrainer,
  train: ImageDataset,
  meta: CheckpointMeta,
  epoch: number,
  listener: EpochListener | undefined,
  outDir: string,
): Promise<{ metrics: Metrics; rows: number; steps: number }> {
  const totals = new Map<string, number>();
  const buffer = new Float32Array(meta.batchSize * MNIST_PIXELS);
  let step = 0;
  let rows = 0;
  for (const indices of batches(train.count, meta.batchSize, { seed: meta.seed, epoch })) {
    step++;
    const x = gatherRows(train.images, MNIST_PIXELS, indices, buffer);
    let metrics: Metrics;
    try {
      metrics = await trainer.trainBatch(x, indices.length);
    } catch (err) {
      throw new TrainingStoppedError(epoch + 1, step, (err as Error).message, outDir);
    }
    if (!allFinite(metrics)) throw new TrainingStoppedError(epoch + 1, step, nonFinite(metrics), outDir);
    // Weighted by rows so a short last batch counts for what it is, as in Keras.
    for (const [k, v] of Object.entries(metrics)) totals.set(k, (totals.get(k) ?? 0) + v * indices.length);
    rows += indices.length;
    listener?.step(step, meanOf(totals, rows));
  }
  return { metrics: meanOf(totals, rows), rows, steps: step };
}

function freshStart(spec: MnistModelSpec, options: RunOptions): CheckpointMeta {
  return {
    model: spec.name,
    epoch: 0,
    epochs: options.epochs ?? spec.defaults.epochs,
    seed: options.seed ?? 0,
    batchSize: options.batchSize ?? spec.defaults.batchSize,
    lr: options.lr ?? spec.defaults.lr,
    limit: options.limit ?? null,
    history: [],
  };
}

/** The checkpoint's progress and settings, checking that the given ones agree with it. */
async function resumePoint(spec: MnistModelSpec, options: RunOptions): Promise<CheckpointMeta> {
  const path = join(options.outDir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new RunSettingsError(`--resume: no checkpoint in ${options.outDir} (expected ${path})`);
  const meta = await readCheckpointMeta(path);
  if (meta.model !== spec.name) throw new RunSettingsError(`--resume: ${path} is a '${meta.model}' checkpoint, not '${spec.name}'`);
  const flags = { seed: '--seed', batchSize: '--batch-size', lr: '--lr', limit: '--limit' } as const;
  for (const [key, flag] of Object.entries(flags) as [keyof typeof flags, string][]) {
    const given = options[key];
    if (given !== undefined && given !== meta[key]) {
      throw new RunSettingsError(`--resume: ${flag} ${given} differs from the checkpoint's ${String(meta[key])} in ${path}; resume with the same settings`);
    }
  }
  meta.epochs = options.epochs ?? meta.epochs;
  if (meta.epoch >= meta.epochs) {
    throw new RunSettingsError(`--resume: ${options.outDir} already has ${meta.epoch} of ${meta.epochs} epochs; pass a larger --epochs to train more`);
  }
  return meta;
}

function meanOf(totals: Map<string, number>, rows: number): Metrics {
  return Object.fromEntries([...totals].map(([k, v]) => [k, v / rows]));
}

/** Everything that lets a run resume after this epoch, and the model as it is now. */
async function saveEpoch(trainer: MnistTrainer, meta: CheckpointMeta, outDir: string): Promise<void> {
  await trainer.save(outDir);
  await writeCheckpoint(join(outDir, CHECKPOINT_FILE), trainer.state, meta);
  await writeLossCsv(join(outDir, 'loss.csv'), meta.history);
  await writeRunFile(outDir, meta);
}

function summarize(spec: MnistModelSpec, meta: CheckpointMeta, seconds: number, trained: number, out: string): RunResult {
  const last = meta.history[meta.history.length - 1] ?? {};
  const gan = last.g_loss !== undefined;
  return {
    model: spec.name,
    epochs: meta.epoch,
    train_loss: (gan ? last.g_loss : last.loss) ?? Number.NaN,
    val_loss: last.val_loss ?? Number.NaN,
    ...(gan ? { g_loss: last.g_loss, d_loss: last.d_loss } : {}),
    seconds,
    samples_per_second: seconds > 0 ? trained / seconds : 0,
    out,
  };
}

async function writeRunFile(dir: string, meta: CheckpointMeta, result?: RunResult): Promise<void> {
  const run: RunFile = {
    format: RUN_FORMAT,
    model: meta.model,
    settings: { epochs: meta.epochs, batchSize: meta.batchSize, lr: meta.lr, seed: meta.seed, limit: meta.limit },
    history: meta.history,
    ...(result ? { result } : {}),
  };
  await writeJsonAtomic(join(dir, RUN_FILE), run);
}

/** The loss plot and the preview grids. */
async function writeArtifacts(spec: MnistModelSpec, model: MnistModel, meta: CheckpointMeta, val: ImageDataset, outDir: string): Promise<void> {
  await writeLossPlot(join(outDir, 'loss.svg'), lossSeries(meta.history), { title: `forja train ${spec.name}`, xLabel: 'epoch' });
  await writePreviews(model, val, outDir, meta.seed);
}

function lossSeries(history: readonly Metrics[]): LossSeries[] {
  const names = [...new Set(history.flatMap((row) => Object.keys(row)))].filter((k) => k !== 'epoch');
  return names.map((name) => {
    const rows = history.filter((row) => row[name] !== undefined);
    return { name, values: rows.map((row) => row[name]!), steps: rows.map((row) => row.epoch!) };
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

/** What a run directory's run.json says: the model and the settings it was trained with. */
export interface RunInfo {
  model: string;
  seed: number;
}

/** Reads run.json of a `forja train` directory, with errors naming the missing or corrupt file. */
export async function readRunInfo(dir: string): Promise<RunInfo> {
  const path = join(dir, RUN_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${dir} is not a forja train run directory: ${path} is missing` : `cannot read ${path}: ${(err as Error).message}`);
  }
  let run: unknown;
  try {
    run = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is corrupt (not valid JSON): ${(err as Error).message}`);
  }
  const fields = run as Partial<RunFile> | null;
  if (fields?.format !== RUN_FORMAT || typeof fields.model !== 'string' || typeof fields.settings?.seed !== 'number') {
    throw new Error(`${path} is not a forja train run file (expected "format": "${RUN_FORMAT}", a model name and settings)`);
  }
  return { model: fields.model, seed: fields.settings.seed };
}
