/**
 * `forja finetune --model DIR|ID --data FILE|DIR [...]`: fine-tune a causal LM
 * Forja loads (models/finetune/), in full or with --lora, into --out: a
 * Hugging Face checkpoint (or a PEFT adapter) that is also a resumable run.
 * Progress goes to stderr (loss, learning rate, tokens/s, ETA); stdout gets the
 * summary, or with --json one JSON line. Bad data lines are reported as
 * file:line on stderr and skipped; with --strict the first one stops the run
 * before training, exit 1 (the data cannot be used as given). Ctrl-C stops
 * after the current step, saves, says how to resume and exits 130.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { BadRecordError, FinetuneDataError, formatLocation } from '../../../data/finetune/problems.js';
import { finetune, type FinetuneOptions, type FinetuneResult, type FinetuneStart } from '../../../models/finetune/finetune.js';
import { FinetuneSettingsError, NoSupervisedTokensError } from '../../../models/finetune/errors.js';
import { CHECKPOINT_FILE, checkNotBase } from '../../../models/finetune/save.js';
import type { FinetuneProgress } from '../../../models/finetune/callbacks.js';
import { LoraConfigError, LoraTargetError } from '../../../models/lora/errors.js';
import { ALL_LINEAR, type LoraOptions } from '../../../models/lora/config.js';
import type { FinetuneDataSummary } from '../../../text/finetune/dataset.js';
import { setThreads } from '../../../runtime/session.js';
import { ResumeMismatchError, TrainingDivergedError } from '../../../train/errors.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { interruptible, resumeHint } from '../interrupt.js';
import { nonNegativeInt, positiveInt, positiveNumber, threadCount } from '../options.js';
import { prepareOutDir } from '../output.js';
import { formatMetrics } from '../progress.js';

interface FinetuneFlags {
  model: string;
  data: string;
  lora: boolean;
  r?: number;
  loraAlpha?: number;
  targetModules?: string;
  epochs?: number;
  steps?: number;
  lr?: number;
  batchSize?: number;
  gradAccum?: number;
  maxLength?: number;
  validationSplit?: number;
  evalSteps?: number;
  seed?: number;
  threads?: number;
  out: string;
  json: boolean;
  resume: boolean;
  overwrite: boolean;
  strict: boolean;
}

/** The summary `--json` prints (the last line of stdout). */
export interface FinetuneReport {
  out: string;
  lora: boolean;
  steps: number;
  start_step: number;
  total_steps: number;
  train_loss: number | null;
  train_perplexity: number | null;
  val_loss: number | null;
  val_perplexity: number | null;
  tokens_per_second: number;
  train_tokens: number;
  trainable_parameters: number;
  total_parameters: number;
  peak_rss_bytes: number;
  seconds: number;
  training_seconds: number;
  skipped_records: number;
  interrupted: boolean;
}

/** TrainingArguments (and finetune()'s other inputs, LoraConfig keys) → the flags that set them. */
const FLAGS: Readonly<Record<string, string>> = {
  model: '--model',
  data: '--data',
  output_dir: '--out',
  overwrite_output_dir: '--overwrite',
  resume_from_checkpoint: '--resume',
  learning_rate: '--lr',
  num_train_epochs: '--epochs',
  max_steps: '--steps',
  per_device_train_batch_size: '--batch-size',
  per_device_eval_batch_size: '--batch-size',
  gradient_accumulation_steps: '--grad-accum',
  max_length: '--max-length',
  validation_split: '--validation-split',
  eval_steps: '--eval-steps',
  seed: '--seed',
  data_seed: '--seed',
  r: '--r',
  lora_alpha: '--lora-alpha',
  target_modules: '--target-modules',
  lora: '--lora',
};
const flagOf = (setting: string): string => FLAGS[setting] ?? setting;

/** Bad records listed with file:line; the rest are counted. */
const LISTED_PROBLEMS = 100;

export function register(program: Command): void {
  program
    .command('finetune')
    .description('Fine-tune a causal LM checkpoint (GPT-2, Llama, Qwen2, Mistral) on text or JSONL data, in full or with LoRA')
    .requiredOption('--model <dir|id>', 'the base model: a Hugging Face checkpoint directory or hub id')
    .requiredOption('--data <file|dir>', 'text files (.txt, .md) or JSONL of {"text"}, {"prompt","completion"} or {"messages"} records; a folder is read whole')
    .option('--lora', 'train LoRA adapters over the frozen base and save a PEFT adapter (default: every weight trains)', false)
    .option('--r <n>', 'LoRA rank (default 8, as PEFT)', positiveInt('--r'))
    .option('--lora-alpha <n>', 'LoRA alpha; the update is scaled by alpha / r (default 8, as PEFT)', positiveNumber('--lora-alpha'))
    .option('--target-modules <list>', `modules to adapt, comma-separated, or '${ALL_LINEAR}' (default: PEFT's for the architecture, e.g. c_attn for GPT-2)`)
    .option('--epochs <n>', 'passes over the training data (default 3)', positiveNumber('--epochs'))
    .option('--steps <n>', 'optimizer steps (overrides --epochs)', positiveInt('--steps'))
    .option('--lr <x>', 'peak learning rate (default 5e-5; linear decay to 0)', positiveNumber('--lr'))
    .option('--batch-size <n>', 'rows per micro-batch (default 8)', positiveInt('--batch-size'))
    .option('--grad-accum <n>', 'micro-batches per optimizer step (default 1)', positiveInt('--grad-accum'))
    .option('--max-length <n>', "longest row in tokens (default 1024, at most the model's positions)", positiveInt('--max-length'))
    .option('--validation-split <x>', 'hold out this share (in (0, 1)) or count of the examples for validation loss and perplexity', positiveNumber('--validation-split'))
    .option('--eval-steps <n>', 'evaluate and save every n steps (default: once per pass over the data)', positiveInt('--eval-steps'))
    .option('--seed <n>', 'seed for the split, data order and adapter initialisation (default 42)', nonNegativeInt('--seed'))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (at most the cores)', threadCount('--threads'))
    .option('--out <dir>', 'output directory (must not be the base model\'s)', 'runs/finetune')
    .option('--resume', 'continue the run in --out from its last checkpoint', false)
    .option('--overwrite', 'start afresh in a non-empty --out, replacing what it holds', false)
    .option('--strict', 'stop at the first bad data record (exit 1) instead of skipping it', false)
    .option('--json', 'print the result as one JSON line (last line of stdout)', false)
    .addHelpText(
      'after',
      '\n--out gets, at every evaluation and on Ctrl-C: config.json, model.safetensors and generation_config.json (full\n' +
        'fine-tuning; `forja generate --model OUT` loads it) or adapter_config.json and adapter_model.safetensors (--lora;\n' +
        '`forja generate --model BASE --adapter OUT`, or `forja merge`), the tokenizer files, and checkpoint.safetensors\n' +
        'for --resume. tokens/s is non-padding training tokens over the time of the training steps alone.',
    )
    .action(async (flags: FinetuneFlags) => {
      await run(flags);
    });
}

function loraOptions(flags: FinetuneFlags): LoraOptions | true | undefined {
  const given = flags.r !== undefined || flags.loraAlpha !== undefined || flags.targetModules !== undefined;
  if (!flags.lora) {
    if (given) throw new CliError('--r, --lora-alpha and --target-modules need --lora');
    return undefined;
  }
  const options: LoraOptions = {};
  if (flags.r !== undefined) options.r = flags.r;
  if (flags.loraAlpha !== undefined) options.lora_alpha = flags.loraAlpha;
  if (flags.targetModules !== undefined) {
    const list = flags.targetModules.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list.length === 0) throw new CliError(`--target-modules '${flags.targetModules}' names no module`);
    options.target_modules = list.length === 1 && list[0] === ALL_LINEAR ? ALL_LINEAR : list;
  }
  return Object.keys(options).length > 0 ? options : true;
}

function trainingArguments(flags: FinetuneFlags): Partial<FinetuneOptions> {
  const a: Partial<FinetuneOptions> = {};
  if (flags.epochs !== undefined) a.num_train_epochs = flags.epochs;
  if (flags.steps !== undefined) a.max_steps = flags.steps;
  if (flags.lr !== undefined) a.learning_rate = flags.lr;
  if (flags.batchSize !== undefined) a.per_device_train_batch_size = a.per_device_eval_batch_size = flags.batchSize;
  if (flags.gradAccum !== undefined) a.gradient_accumulation_steps = flags.gradAccum;
  if (flags.maxLength !== undefined) a.max_length = flags.maxLength;
  if (flags.validationSplit !== undefined) a.validation_split = flags.validationSplit;
  if (flags.evalSteps !== undefined) a.eval_steps = flags.evalSteps;
  if (flags.seed !== undefined) a.seed = flags.seed;
  return a;
}

async function run(flags: FinetuneFlags): Promise<void> {
  if (flags.epochs !== undefined && flags.steps !== undefined) throw new CliError('--epochs and --steps cannot be combined: --steps sets the run\'s length');
  const lora = loraOptions(flags);
  if (flags.threads !== undefined) setThreads(flags.threads);
  // Before prepareOutDir, so the base's own directory is never offered --overwrite.
  if (existsSync(flags.model)) wrap(() => checkNotBase(flags.out, flags.model), flags);
  const state = await prepareOutDir(flags.out, {
    flag: '--out',
    overwrite: flags.overwrite,
    resume: flags.resume,
    resumable: (dir) => existsSync(join(dir, CHECKPOINT_FILE)),
    kind: 'fine-tuning',
  });
  const note = (line: string): void => void process.stderr.write(`${line}\n`);
  const progress = stepPrinter();
  let lastSave: number | undefined;
  let skipped = 0;
  const result = await interruptible((signal) =>
    finetune({
      model: flags.model,
      data: flags.data,
      ...(lora !== undefined && { lora }),
      ...trainingArguments(flags),
      output_dir: flags.out,
      resume_from_checkpoint: state === 'resume',
      overwrite_output_dir: state === 'overwrite',
      dataOptions: { strict: flags.strict, keepProblems: LISTED_PROBLEMS },
      signal,
      onStart: (start) => {
        skipped = start.dataSummary?.skipped.total ?? 0;
        reportData(start.dataSummary);
        note(startLine(start));
        if (state === 'resume') lastSave = start.step;
      },
      onStep: (p) => progress.step(p),
      onEvaluation: (e) => {
        progress.clear();
        const metrics: Record<string, number> = { train_loss: e.trainLoss };
        if (e.valLoss !== undefined) metrics.val_loss = e.valLoss;
        if (e.valPerplexity !== undefined) metrics.val_perplexity = e.valPerplexity;
        note(`step ${e.step}: ${formatMetrics(metrics)}`);
      },
      onSave: (step, dir) => {
        lastSave = step;
        progress.clear();
        note(`step ${step}: saved to ${dir}`);
      },
    }),
  ).catch((err: unknown) => {
    progress.clear();
    throw cliError(err, flags, lastSave);
  });
  progress.clear();
  printResult(reportOf(result, flags, skipped), flags.json);
  if (result.interrupted) {
    throw new CliError(`finetune: interrupted after step ${result.steps}; ${flags.out} holds it; ${resumeHint()}`, EXIT.interrupted);
  }
}

function wrap(check: () => void, flags: FinetuneFlags): void {
  try {
    check();
  } catch (err) {
    throw cliError(err, flags, undefined);
  }
}

/** Each skipped record as file:line, then the count by reason. */
function reportData(summary: FinetuneDataSummary | undefined): void {
  if (!summary || summary.skipped.total === 0) return;
  const { total, first, byReason } = summary.skipped;
  for (const p of first) process.stderr.write(`forja: warning: ${formatLocation(p)}: ${p.message} (skipped)\n`);
  if (total > first.length) process.stderr.write(`forja: warning: ... and ${total - first.length} more\n`);
  const reasons = Object.entries(byReason).map(([reason, n]) => `${n} ${reason}`).join(', ');
  process.stderr.write(`forja: warning: --data: skipped ${total} of ${summary.recordsRead} records (${reasons}); --strict stops at the first\n`);
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

function startLine(s: FinetuneStart): string {
  const what = s.lora ? 'LoRA' : 'full fine-tuning';
  const from = s.step > 0 ? `resuming at step ${s.step} of ${s.totalSteps}` : `${s.totalSteps} steps`;
  return `${what}: ${count(s.trainableParameters)} of ${count(s.totalParameters)} parameters train; ${s.trainRows} training rows, ${s.validationRows} validation rows; ${from}`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressLine(p: FinetuneProgress): string {
  return `step ${p.step}/${p.totalSteps} - loss: ${p.loss.toFixed(4)} - lr: ${p.learningRate.toExponential(2)} - ${count(p.tokensPerSecond)} tokens/s - ETA ${duration(p.etaSeconds)}`;
}

/**
 * Step lines on stderr: on a terminal one line rewritten in place; elsewhere
 * the first and last steps and at most one line every 2 s.
 */
function stepPrinter(stream: NodeJS.WriteStream = process.stderr): { step(p: FinetuneProgress): void; clear(): void } {
  let shown = false;
  let lastAt = 0;
  return {
    step(p) {
      const line = progressLine(p);
      if (stream.isTTY) {
        stream.write(`\r${line}\x1b[K`);
        shown = true;
        return;
      }
      const now = performance.now();
      if (lastAt !== 0 && p.step !== p.totalSteps && now - lastAt < 2000) return;
      lastAt = now;
      stream.write(`${line}\n`);
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

function reportOf(r: FinetuneResult, flags: FinetuneFlags, skipped: number): FinetuneReport {
  return {
    out: flags.out,
    lora: flags.lora,
    steps: r.steps,
    start_step: r.startStep,
    total_steps: r.totalSteps,
    train_loss: r.trainLoss,
    train_perplexity: r.trainPerplexity,
    val_loss: r.valLoss,
    val_perplexity: r.valPerplexity,
    tokens_per_second: r.tokensPerSecond,
    train_tokens: r.trainTokens,
    trainable_parameters: r.trainableParameters,
    total_parameters: r.totalParameters,
    peak_rss_bytes: r.peakRssBytes,
    seconds: r.seconds,
    training_seconds: r.trainingSeconds,
    skipped_records: skipped,
    interrupted: r.interrupted,
  };
}

function printResult(r: FinetuneReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const losses: Record<string, number> = {};
  if (r.train_loss !== null) losses.train_loss = r.train_loss;
  if (r.val_loss !== null) losses.val_loss = r.val_loss;
  if (r.val_perplexity !== null) losses.val_perplexity = r.val_perplexity;
  const steps = r.start_step > 0 ? `steps ${r.start_step}–${r.steps}` : `${r.steps} steps`;
  process.stdout.write(
    `${r.lora ? 'LoRA' : 'full fine-tuning'}, ${count(r.trainable_parameters)} of ${count(r.total_parameters)} parameters trained: ${steps}${r.interrupted ? ' (interrupted)' : ''} in ${r.seconds.toFixed(1)} s; ` +
      `${count(r.tokens_per_second)} tokens/s, peak RSS ${(r.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB${Object.keys(losses).length ? ` - ${formatMetrics(losses)}` : ''}\n` +
      `wrote ${r.out}\n`,
  );
}

/** The library's errors in the CLI's words: settings become flags. */
function cliError(err: unknown, flags: FinetuneFlags, lastSave: number | undefined): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof FinetuneSettingsError) return new CliError(`finetune: ${err.wordWith(flagOf)}`, EXIT.usage);
  if (err instanceof ResumeMismatchError) {
    const flag = flagOf(err.setting);
    return new CliError(
      `finetune: --resume: ${flag} ${String(err.given)} differs from the run in ${flags.out} (${flag} ${String(err.saved)}); drop ${flag} to keep the run's value, or train into a new --out`,
      EXIT.usage,
    );
  }
  if (err instanceof BadRecordError) return new CliError(`finetune: --data: ${err.message} (--strict stops at the first bad record; without it bad records are skipped)`, EXIT.failure);
  if (err instanceof FinetuneDataError) return new CliError(`finetune: --data ${flags.data}: ${err.message}`, err.reason === 'option' ? EXIT.usage : EXIT.failure);
  if (err instanceof NoSupervisedTokensError) return new CliError(`finetune: --data ${flags.data}: ${err.message}`, EXIT.failure);
  if (err instanceof LoraConfigError || err instanceof LoraTargetError) return new CliError(`finetune: ${flagOf(err.key)}: ${err.message}`, EXIT.usage);
  if (err instanceof TrainingDivergedError) {
    const kept = lastSave !== undefined ? `what was saved at step ${lastSave} in ${flags.out} is kept` : 'nothing was saved';
    return new CliError(`finetune: training diverged at step ${err.position.globalStep + 1}: ${err.values}; ${kept}. Try a lower --lr.`, EXIT.failure);
  }
  return cliErrorFrom(`finetune --model ${flags.model}`, err);
}
