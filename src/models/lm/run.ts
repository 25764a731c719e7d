/**
 * A causal-LM training run, fresh or resumed: the LmTask driven by the
 * Trainer, with a sample at every evaluation and, when there is an output
 * directory, the Trainer's checkpoint plus the Hugging Face files written
 * there at every evaluation and when the run is interrupted.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TextDataset } from '../../data/text.js';
import { readJsonObject } from '../../io/hf-checkpoint.js';
import { loadF32 } from '../../io/safetensors.js';
import type { Callback } from '../../train/callbacks.js';
import { backupAndRestore, modelCheckpoint } from '../../train/checkpoint-callbacks.js';
import { ResumeMismatchError } from '../../train/errors.js';
import { csvLogger } from '../../train/loggers.js';
import { Trainer } from '../../train/trainer.js';
import { architectureSpec, type ScratchArchitecture } from '../registry.js';
import { CHECKPOINT_FILE, isLmRunDir, readLmRun, writeHfFiles, type SavedLmRun } from './checkpoint.js';
import { fingerprint, type DataFingerprint } from './data.js';
import { LEGACY_FILES, removeLegacyFiles, restoreLegacyRun } from './legacy.js';
import { sampleCallback, type EvalSample } from './sample.js';
import { checkSizes, LmSettingsError, resolveSettings, type LmTrainSettings } from './settings.js';
import { initialModel, LmTask } from './task.js';
import { checkpointTokenizer, resolveTrainingTokenizer } from './tokenizers.js';

export interface LmRunOptions {
  /** The text to train on. */
  text: string;
  /** 'char' (default), 'gpt2' or a tokenizer directory; a resumed run keeps its own. */
  tokenizer?: string;
  /** Settings given explicitly; the rest come from LM_DEFAULTS, or from the run being resumed. */
  settings?: Partial<LmTrainSettings>;
  /** The run directory; without one nothing is saved. */
  outDir?: string;
  /** Continue the run saved in outDir. */
  resume?: boolean;
  /** Start afresh in an outDir that is not empty: its contents are removed once training is ready to start. */
  overwrite?: boolean;
  /** Stops after the current step; the checkpoint is written first. */
  signal?: AbortSignal;
  /** Once the graphs are compiled, with where the run starts. */
  onStart?(run: { settings: LmTrainSettings; step: number; parameters: number }): void | Promise<void>;
  /** After every evaluation, with its sample. */
  onEvaluation?(evaluation: EvalSample): void | Promise<void>;
  /** After every save of the run directory. */
  onCheckpoint?(step: number, dir: string): void | Promise<void>;
  /** More callbacks (progress...), called first: before the sample and the checkpoints. */
  callbacks?: readonly Callback[];
  /** Refuse settings whose training step would need more bytes than this (default MAX_STEP_BYTES). */
  maxStepBytes?: number;
}

export interface LmRunResult {
  architecture: ScratchArchitecture;
  parameters: number;
  /** Steps completed, the resumed ones included. */
  steps: number;
  /** Steps already done when this call started (0 unless resumed): this call trained steps − startStep. */
  startStep: number;
  /** The last evaluation's losses (null before the first evaluation). */
  trainLoss: number | null;
  valLoss: number | null;
  /** Wall time of this call: compilation, training, evaluation, sampling and saving. */
  seconds: number;
  /** Wall time of this call's training steps alone: filling the batch and the session run. */
  trainingSeconds: number;
  /**
   * Forja's one tokens/s: the training tokens of this call's steps (steps ×
   * batch × block) over `trainingSeconds`; compilation, evaluation, sampling
   * and checkpointing are excluded.
   */
  tokensPerSecond: number;
  /** The last evaluation's sample ('' if none ran in this call). */
  sample: string;
  out: string | null;
  /** True when the signal stopped the run before its last step. */
  interrupted: boolean;
}

/** Train, evaluating, sampling and checkpointing every evalInterval steps and after the last. */
export async function runLmTraining(options: LmRunOptions): Promise<LmRunResult> {
  const started = performance.now();
  const data = fingerprint(options.text);
  const dir = options.outDir;
  const { task, saved } = options.resume ? await openSaved(options, data) : await openFresh(options, data);
  let sample = '';
  const callbacks: Callback[] = [
    ...(options.callbacks ?? []),
    sampleCallback(task, async (evaluation) => {
      sample = evaluation.sample;
      await options.onEvaluation?.(evaluation);
    }),
  ];
  if (dir !== undefined) {
    callbacks.push(
      backupAndRestore({
        path: join(dir, CHECKPOINT_FILE),
        restore: false, // restored below, before any callback's onTrainBegin
        deleteOnEnd: false, // a finished run stays recognisable, and refuses a second resume clearly
        onSaved: () => (saved?.format === 'legacy' ? removeLegacyFiles(dir) : undefined),
      }),
      modelCheckpoint({
        save: async () => {
          await writeHfFiles(dir, task);
          await options.onCheckpoint?.(trainer.position.globalStep, dir);
        },
      }),
      csvLogger(join(dir, 'loss.csv')),
    );
  }
  const trainer = new Trainer(task, { callbacks, ...(options.signal && { signal: options.signal }) });
  try {
    if (saved?.format === 'legacy') await restoreLegacyRun(dir!, saved, task, trainer);
    else if (saved) await trainer.restore(join(dir!, CHECKPOINT_FILE));
    else if (dir !== undefined && options.overwrite) await emptyDir(dir);
    const startStep = trainer.position.globalStep;
    await options.onStart?.({ settings: task.settings, step: startStep, parameters: task.parameterCount });
    const outcome = await trainer.run();
    const last = trainer.history.rows().at(-1);
    return {
      architecture: task.settings.architecture,
      parameters: task.parameterCount,
      steps: outcome.position.globalStep,
      startStep,
      trainLoss: last?.train_loss ?? null,
      valLoss: last?.val_loss ?? null,
      seconds: (performance.now() - started) / 1000,
      trainingSeconds: outcome.stepSeconds,
      tokensPerSecond: outcome.stepSeconds > 0 ? outcome.weightHere / outcome.stepSeconds : 0,
      sample,
      out: dir ?? null,
      interrupted: outcome.interrupted,
    };
  } finally {
    await task.release();
  }
}

interface OpenedRun {
  task: LmTask;
  saved?: SavedLmRun;
}

async function openFresh(options: LmRunOptions, data: DataFingerprint): Promise<OpenedRun> {
  if (options.outDir !== undefined) await checkFreshDir(options.outDir, options.overwrite === true);
  const settings = resolveSettings(options.settings ?? {});
  const tokenizer = await resolveTrainingTokenizer(options.tokenizer ?? 'char', options.text);
  const dataset = TextDataset.fromText(options.text, tokenizer.tokenizer, { seed: settings.seed });
  checkSizes(settings, tokenizer.tokenizer.vocabSize, { train: dataset.train.length, val: dataset.val.length }, options.maxStepBytes);
  const { model, config } = initialModel(settings, tokenizer);
  return { task: await LmTask.create({ settings, model, config, dataset, tokenizer, data }) };
}

async function openSaved(options: LmRunOptions, data: DataFingerprint): Promise<OpenedRun> {
  const dir = options.outDir;
  if (dir === undefined || dir === '') throw new LmSettingsError('outDir', 'resuming needs {outDir}, the directory of the run to continue');
  if (options.overwrite) throw new LmSettingsError('overwrite', '{resume} continues the run and {overwrite} starts again: give one of them');
  const saved = await readLmRun(dir);
  if (!saved) throw new LmSettingsError('resume', `${dir} holds no training run to continue (no ${CHECKPOINT_FILE})`);
  const { settings, data: trainedOn } = saved.meta;
  if (trainedOn.sha256 !== data.sha256) {
    throw new LmSettingsError('data', `{data} differs from the text the run in ${dir} was trained on (sha256 ${data.sha256.slice(0, 12)}… vs ${trainedOn.sha256.slice(0, 12)}…)`);
  }
  const path = join(dir, saved.format === 'legacy' ? LEGACY_FILES.state : CHECKPOINT_FILE);
  for (const [key, value] of Object.entries(options.settings ?? {}) as [keyof LmTrainSettings, unknown][]) {
    if (value !== undefined && value !== settings[key]) throw new ResumeMismatchError(key, value, settings[key], path);
  }
  const kind = options.tokenizer === undefined ? undefined : options.tokenizer === 'char' ? 'char' : 'pretrained';
  if (kind !== undefined && kind !== saved.meta.tokenizer) throw new ResumeMismatchError('tokenizer', options.tokenizer, saved.meta.tokenizer, path);
  if (saved.position.globalStep >= settings.steps) throw new LmSettingsError('resume', `the run in ${dir} already finished its ${settings.steps} steps`);
  const tokenizer = await checkpointTokenizer(dir, saved.meta.tokenizer);
  const dataset = TextDataset.fromText(options.text, tokenizer.tokenizer, { seed: settings.seed });
  // A checkpoint restores every weight; a legacy run's weights are its model.safetensors.
  const { model, config } = saved.format === 'legacy' ? await loadHfModel(dir) : initialModel(settings, tokenizer);
  return { task: await LmTask.create({ settings, model, config, dataset, tokenizer, data }), saved };
}

async function loadHfModel(dir: string): Promise<ReturnType<typeof initialModel>> {
  const configPath = join(dir, 'config.json');
  const config = await readJsonObject(configPath, true);
  return { model: architectureSpec(config, configPath).spec.load(config, await loadF32(join(dir, 'model.safetensors'))), config };
}

async function checkFreshDir(dir: string, overwrite: boolean): Promise<void> {
  if (dir === '') throw new LmSettingsError('outDir', '{outDir} must not be empty (it would write into the current directory)');
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new LmSettingsError('outDir', `{outDir} ${dir} is a file, not a directory`);
  if (overwrite || (await readdir(dir)).length === 0) return;
  throw new LmSettingsError(
    'outDir',
    (await isLmRunDir(dir))
      ? `{outDir} ${dir} already holds a training run: continue it with {resume}, or start again with {overwrite}`
      : `{outDir} ${dir} is not empty and holds no training run: choose another {outDir}, or replace its contents with {overwrite}`,
  );
}

async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
