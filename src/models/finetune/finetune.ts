/**
 * finetune(): fine-tune a causal LM Forja loads, in full or with LoRA, as one
 * FinetuneTask on the one Trainer. With an output directory the run saves,
 * at every save point and when it stops, the Trainer's checkpoint (a resume
 * continues bit for bit) and the model: a Hugging Face directory for full
 * fine-tuning, a PEFT adapter for LoRA, with the base's tokenizer files.
 * Progress comes through callbacks; the library never prints.
 */
import { join } from 'node:path';
import type { HubOptions } from '../../io/hub.js';
import type { Callback } from '../../train/callbacks.js';
import { backupAndRestore, modelCheckpoint } from '../../train/checkpoint-callbacks.js';
import type { HistoryRow } from '../../train/history.js';
import { Trainer } from '../../train/trainer.js';
import { loraConfigJson, type LoraOptions } from '../lora/config.js';
import { saveLoraAdapter } from '../lora/peft-io.js';
import type { FinetuneDataSummary } from '../../text/finetune/dataset.js';
import type { CausalLmModel } from '../transformer/types.js';
import { resolveArgs, type FinetuneArgs, type TrainingArguments } from './args.js';
import { atSavePoints, progressCallback, resumableEarlyStopping, type FinetuneEvaluation, type FinetuneProgress } from './callbacks.js';
import { fingerprintRows } from './data.js';
import { FinetuneSettingsError } from './errors.js';
import { checkSameRun, loadBase, maxLengthFor, openData, resolveBase, resumedArgs, trainableModel, type DataRequest, type FinetuneDataInput, type RunFacts } from './open.js';
import { CHECKPOINT_FILE, checkFreshDir, copyTokenizerFiles, emptyDir, readFinetuneRun, writeFullModel } from './save.js';
import { FinetuneTask } from './task.js';

export interface FinetuneOptions extends TrainingArguments {
  /** The base model: a directory or a hub id. */
  model: string;
  /** Files or folders (text, or JSONL of text, prompt/completion or chat records), or rows already made. */
  data: FinetuneDataInput;
  /** Validation files (transformers' eval_dataset); without them, `validation_split` of data is held out. */
  eval_data?: string | readonly string[];
  /** Held-out share in (0, 1) or count of data's examples (default none). */
  validation_split?: number;
  /** LoRA with PEFT's LoraConfig names (true: PEFT's defaults); without it every weight trains. */
  lora?: LoraOptions | true;
  /** More data loading options (strict, padTo...). */
  dataOptions?: DataRequest['dataOptions'];
  /** Downloads of a hub id. */
  hub?: HubOptions;
  /** Stops after the current step; the checkpoint and model are saved first. */
  signal?: AbortSignal;
  /** More Trainer callbacks, called before the run's own. */
  callbacks?: readonly Callback[];
  /** Once everything is loaded and compiled, with where the run starts. */
  onStart?(start: FinetuneStart): void | Promise<void>;
  onStep?(progress: FinetuneProgress): void | Promise<void>;
  onEvaluation?(evaluation: FinetuneEvaluation): void | Promise<void>;
  /** After every save of output_dir. */
  onSave?(step: number, dir: string): void | Promise<void>;
}

export interface FinetuneStart {
  args: FinetuneArgs;
  /** Steps already done (0 unless resumed) and the run's total. */
  step: number;
  totalSteps: number;
  trainableParameters: number;
  totalParameters: number;
  trainRows: number;
  validationRows: number;
  lora: boolean;
  /** What loading read, kept and skipped, with the first bad records' file and line (undefined for rows given as they are). */
  dataSummary?: FinetuneDataSummary | undefined;
}

export interface FinetuneResult {
  /** The trained model in memory (for LoRA, the base with its adapters). */
  model: CausalLmModel;
  outputDir: string | null;
  /** Steps done (resumed ones included), those done before this call, and the run's total. */
  steps: number;
  startStep: number;
  totalSteps: number;
  /** The last evaluation interval's mean training loss over its supervised tokens, and exp of it (null before one ends). */
  trainLoss: number | null;
  trainPerplexity: number | null;
  /** The last validation (null without validation data or before one ran). */
  valLoss: number | null;
  valPerplexity: number | null;
  bestValLoss: number | null;
  /**
   * Forja's one tokens/s: every non-padding training token of this call's
   * steps (prompts included) over `trainingSeconds`; compiling, evaluation and
   * saving are excluded. `supervisedTokensPerSecond` counts the tokens with a loss.
   */
  tokensPerSecond: number;
  supervisedTokensPerSecond: number;
  trainTokens: number;
  trainableParameters: number;
  /** Base and adapters, each Variable once (a tied embedding once). */
  totalParameters: number;
  /** The process's peak resident set size so far. */
  peakRssBytes: number;
  /** Wall time of this call, and of its training steps alone. */
  seconds: number;
  trainingSeconds: number;
  /** The signal stopped the run before its last step. */
  interrupted: boolean;
  /** Early stopping ended the run. */
  stoppedEarly: boolean;
  history: HistoryRow[];
}

export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const started = performance.now();
  const dir = options.output_dir;
  const resume = options.resume_from_checkpoint === true;
  if (resume && dir === undefined) throw new FinetuneSettingsError('resume_from_checkpoint', '{resume_from_checkpoint} needs {output_dir}, the directory of the run to continue');
  if (resume && options.overwrite_output_dir) throw new FinetuneSettingsError('overwrite_output_dir', '{resume_from_checkpoint} continues the run and {overwrite_output_dir} starts again: give one of them');
  const fresh = resolveArgs(options); // refuses bad arguments before any work
  const baseDir = await resolveBase(options.model, dir, options.hub);
  const saved = resume ? await readFinetuneRun(dir!) : undefined;
  if (resume && !saved) throw new FinetuneSettingsError('resume_from_checkpoint', `${dir} holds no fine-tuning run to continue (no ${CHECKPOINT_FILE})`);
  if (!resume && dir !== undefined) await checkFreshDir(dir, options.overwrite_output_dir === true);
  const base = await loadBase(baseDir);
  const args = saved ? resumedArgs(saved, options, join(dir!, CHECKPOINT_FILE)) : { ...fresh, max_length: maxLengthFor(options, base.model) };
  const opened = await openData({ data: options.data, evalData: options.eval_data, validationSplit: options.validation_split, dataOptions: options.dataOptions }, base, args);
  const validationRows = opened.dataset.validation?.size ?? 0;
  const patience = options.early_stopping_patience;
  if (patience !== undefined && validationRows === 0) throw new FinetuneSettingsError('early_stopping_patience', '{early_stopping_patience} needs validation data: give {eval_data} or {validation_split}');
  const { trainable, lora } = trainableModel(base, options.lora === true ? {} : options.lora, args, opened.vocabSize);
  const facts: RunFacts = {
    base: { architecture: base.model.architecture, configSha256: base.configSha256 },
    data: fingerprintRows(opened.dataset.train),
    lora: lora ? loraConfigJson(lora.config) : null,
    earlyStopping: patience === undefined ? null : { patience, threshold: options.early_stopping_threshold ?? 0 },
  };
  if (saved) checkSameRun(saved, facts, dir!);
  const task = new FinetuneTask({ trainable, data: opened.dataset, args, meta: { ...facts } });
  try {
    const saveModel = async (): Promise<void> => {
      if (lora) await saveLoraAdapter(dir!, lora, { baseModelNameOrPath: options.model });
      else await writeFullModel(dir!, base, trainable.model);
    };
    let modelSavedAt = -1;
    const callbacks: Callback[] = [...(options.callbacks ?? []), progressCallback(task, { onStep: options.onStep, onEvaluation: options.onEvaluation })];
    if (patience !== undefined) callbacks.push(resumableEarlyStopping(patience, options.early_stopping_threshold ?? 0));
    let trainer!: Trainer;
    const due = (): boolean => trainer.position.globalStep % task.plan.saveSteps === 0 || trainer.position.globalStep === task.plan.totalSteps;
    const save = async (): Promise<void> => {
      if (modelSavedAt === trainer.position.globalStep) return;
      await saveModel();
      modelSavedAt = trainer.position.globalStep;
      await options.onSave?.(modelSavedAt, dir!);
    };
    if (dir !== undefined) {
      // The checkpoint first: once the model of a step is on disk, so is the state that continues from it.
      callbacks.push(
        atSavePoints(backupAndRestore({ path: join(dir, CHECKPOINT_FILE), restore: false, deleteOnEnd: false }), due),
        atSavePoints(modelCheckpoint({ save }), due),
      );
    }
    trainer = new Trainer(task, { callbacks, ...(options.signal && { signal: options.signal }) });
    if (saved && saved.position.globalStep >= task.plan.totalSteps) {
      throw new FinetuneSettingsError('resume_from_checkpoint', `the run in ${dir} already finished its ${task.plan.totalSteps} steps`);
    }
    // Compiling creates the AdamW moments, which the restore then fills.
    await task.prepare(saved?.position.globalStep ?? 0);
    if (saved) await trainer.restore(join(dir!, CHECKPOINT_FILE));
    const startStep = trainer.position.globalStep;
    if (dir !== undefined && !saved) {
      if (options.overwrite_output_dir) await emptyDir(dir);
      await copyTokenizerFiles(base.dir, dir);
    }
    const counts = task.parameterCounts;
    await options.onStart?.({ args, step: startStep, totalSteps: task.plan.totalSteps, trainableParameters: counts.trainable, totalParameters: counts.total, trainRows: opened.dataset.train.size, validationRows, lora: lora !== undefined, dataSummary: opened.summary });
    const outcome = await trainer.run();
    if (dir !== undefined) await save(); // an early stop between save points
    const history = trainer.history.rows();
    const last = history.at(-1);
    const vals = history.flatMap((r) => (r.val_loss === undefined ? [] : [r.val_loss]));
    const perSecond = (n: number): number => (outcome.stepSeconds > 0 ? n / outcome.stepSeconds : 0);
    return {
      model: trainable.model,
      outputDir: dir ?? null,
      steps: outcome.position.globalStep,
      startStep,
      totalSteps: task.plan.totalSteps,
      trainLoss: last?.loss ?? null,
      trainPerplexity: last?.loss === undefined ? null : Math.exp(last.loss),
      valLoss: last?.val_loss ?? null,
      valPerplexity: last?.val_perplexity ?? null,
      bestValLoss: vals.length ? Math.min(...vals) : null,
      tokensPerSecond: perSecond(task.tokensTrained),
      supervisedTokensPerSecond: perSecond(task.supervisedTokensTrained),
      trainTokens: task.tokensTrained,
      trainableParameters: counts.trainable,
      totalParameters: counts.total,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      seconds: (performance.now() - started) / 1000,
      trainingSeconds: outcome.stepSeconds,
      interrupted: outcome.interrupted,
      stoppedEarly: !outcome.interrupted && outcome.position.globalStep < task.plan.totalSteps,
      history,
    };
  } finally {
    await task.release();
  }
}
