/**
 * `forja train gpt --data FILE.txt [...]`: train a GPT-2 or Llama-style model
 * from scratch (models/lm/) into --out, which is at once a Hugging Face
 * checkpoint and a resumable run. Progress goes to stderr (a bar per
 * evaluation interval on a TTY, evaluation lines always); stdout gets the
 * summary, or with --json one JSON line. Ctrl-C stops after the current step,
 * saves, says how to resume and exits 130. The library names settings; this
 * file turns them into flags.
 */
import { Option, type Command } from 'commander';
import { readTextFile } from '../../../data/text.js';
import { isLmRunDir } from '../../../models/lm/checkpoint.js';
import { inspectText, type NotTextWarning } from '../../../models/lm/data.js';
import { runLmTraining, type LmRunResult } from '../../../models/lm/run.js';
import type { EvalSample } from '../../../models/lm/sample.js';
import { LM_DEFAULTS, LmSettingsError, type LmTrainSettings } from '../../../models/lm/settings.js';
import { SCRATCH_ARCHITECTURES } from '../../../models/registry.js';
import { setThreads } from '../../../runtime/session.js';
import { ResumeMismatchError, TrainingDivergedError } from '../../../train/errors.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { interruptible, resumeHint } from '../interrupt.js';
import { nonNegativeInt, numberInRange, positiveInt, positiveNumber, threadCount } from '../options.js';
import { prepareOutDir } from '../output.js';
import { formatMetrics, progressCallback } from '../progress.js';
import { trainCommand } from './train.js';

interface GptFlags {
  data: string;
  tokenizer?: string;
  arch?: LmTrainSettings['architecture'];
  layers?: number;
  heads?: number;
  embd?: number;
  blockSize?: number;
  steps?: number;
  lr?: number;
  batchSize?: number;
  dropout?: number;
  evalInterval?: number;
  evalBatches?: number;
  sampleTokens?: number;
  warmupSteps?: number;
  seed?: number;
  threads?: number;
  out: string;
  json: boolean;
  resume: boolean;
  overwrite: boolean;
}

/** The summary `--json` prints. */
export type GptTrainReport = Omit<LmRunResult, 'out'> & { out: string };

/** Setting (and input) names → the flags that set them. */
const FLAGS: Readonly<Record<string, string>> = {
  architecture: '--arch',
  layers: '--layers',
  heads: '--heads',
  embd: '--embd',
  blockSize: '--block-size',
  dropout: '--dropout',
  steps: '--steps',
  batchSize: '--batch-size',
  lr: '--lr',
  warmupSteps: '--warmup-steps',
  evalInterval: '--eval-interval',
  evalBatches: '--eval-batches',
  sampleTokens: '--sample-tokens',
  seed: '--seed',
  data: '--data',
  tokenizer: '--tokenizer',
  outDir: '--out',
  resume: '--resume',
  overwrite: '--overwrite',
};
const flagOf = (setting: string): string => FLAGS[setting] ?? setting;

/** Flags that carry a setting, by the setting's name. */
const SETTING_FLAGS = ['layers', 'heads', 'embd', 'blockSize', 'steps', 'lr', 'batchSize', 'dropout', 'evalInterval', 'evalBatches', 'sampleTokens', 'warmupSteps', 'seed'] as const;

const d = LM_DEFAULTS;

export function register(program: Command): void {
  const command = trainCommand(program)
    .command('gpt')
    .description(`Train a GPT-2 or Llama-style model from scratch on a text file and save it as a Hugging Face checkpoint (defaults: ${d.layers} layers, ${d.heads} heads, ${d.embd} wide, block ${d.blockSize}, ${d.steps} steps)`)
    .requiredOption('--data <file>', 'UTF-8 text to train on (first 90% train, last 10% validation)')
    .option('--tokenizer <char|gpt2|dir>', "'char' (vocabulary from the text; the default), 'gpt2' (from the Hugging Face cache, offline) or a tokenizer directory")
    .addOption(new Option('--arch <name>', `architecture (default ${d.architecture}): gpt2 (LayerNorm, GELU MLP, learned positions) or llama (RMSNorm, SwiGLU, RoPE)`).choices(Object.keys(SCRATCH_ARCHITECTURES)))
    .option('--layers <n>', `transformer blocks (default ${d.layers})`, positiveInt('--layers'))
    .option('--heads <n>', `attention heads (default ${d.heads})`, positiveInt('--heads'))
    .option('--embd <n>', `embedding width (default ${d.embd})`, positiveInt('--embd'))
    .option('--block-size <n>', `context length in tokens (default ${d.blockSize})`, positiveInt('--block-size'))
    .option('--steps <n>', `optimizer steps (default ${d.steps})`, positiveInt('--steps'))
    .option('--lr <x>', `peak learning rate (default ${d.lr}; warmup, then cosine decay to a tenth)`, positiveNumber('--lr'))
    .option('--batch-size <n>', `windows per step (default ${d.batchSize})`, positiveInt('--batch-size'))
    .option('--dropout <x>', `dropout rate (default ${d.dropout})`, numberInRange('--dropout', 0, 0.95))
    .option('--eval-interval <n>', `evaluate, sample and checkpoint every n steps (default ${d.evalInterval})`, positiveInt('--eval-interval'))
    .option('--seed <n>', `seed for initialisation, batches and samples (default ${d.seed})`, nonNegativeInt('--seed'))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (at most the cores)', threadCount('--threads'))
    .option('--out <dir>', 'run directory', 'runs/gpt')
    .option('--json', 'print the result as one JSON line (last line of stdout)', false)
    .option('--resume', 'continue the run in --out from its last checkpoint (its settings are kept)', false)
    .option('--overwrite', 'start afresh in a non-empty --out, replacing what it holds', false)
    .addOption(hidden('--eval-batches <n>', 'batches per split per evaluation', positiveInt('--eval-batches')))
    .addOption(hidden('--sample-tokens <n>', 'tokens per periodic sample', positiveInt('--sample-tokens')))
    .addOption(hidden('--warmup-steps <n>', 'linear warmup steps', nonNegativeInt('--warmup-steps')))
    .addHelpText(
      'after',
      '\nAt every evaluation (and on Ctrl-C) --out gets config.json, model.safetensors, generation_config.json and the\n' +
        'tokenizer files (GPT2LMHeadModel or LlamaForCausalLM; `forja generate --model DIR` loads them), loss.csv, and\n' +
        'checkpoint.safetensors (weights, AdamW moments, step, history) for --resume.\n' +
        'tokens/s is training tokens (steps × batch × block) over the time of the training steps alone.',
    );
  command.action(async (flags: GptFlags) => {
    await train(flags);
  });
}

function hidden(flags: string, description: string, parse: (value: string) => number): Option {
  return new Option(flags, description).argParser(parse).hideHelp();
}

function settingsOf(flags: GptFlags): Partial<LmTrainSettings> {
  const given: Partial<LmTrainSettings> = Object.fromEntries(SETTING_FLAGS.filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]]));
  if (flags.arch !== undefined) given.architecture = flags.arch;
  return given;
}

async function train(flags: GptFlags): Promise<void> {
  if (flags.threads !== undefined) setThreads(flags.threads);
  const state = await prepareOutDir(flags.out, { flag: '--out', overwrite: flags.overwrite, resume: flags.resume, resumable: isLmRunDir, kind: 'gpt' });
  const text = await readTextFile(flags.data).catch((err: unknown) => {
    throw new CliError(`train gpt: --data: ${(err as Error).message}`);
  });
  const warning = inspectText(text);
  if (warning) process.stderr.write(`forja: warning: ${notTextMessage(flags.data, warning)}\n`);
  const note = (line: string): void => void process.stderr.write(`${line}\n`);
  let lastCheckpoint: number | undefined;
  const progress = progressCallback();
  const result = await interruptible((signal) =>
    runLmTraining({
      text,
      ...(flags.tokenizer !== undefined && { tokenizer: flags.tokenizer }),
      settings: settingsOf(flags),
      outDir: flags.out,
      resume: state === 'resume',
      overwrite: state === 'overwrite',
      signal,
      callbacks: [progress],
      onStart: ({ step }) => {
        if (state === 'resume') lastCheckpoint = step;
      },
      onEvaluation: (evaluation) => note(evalLine(evaluation)),
      onCheckpoint: (step, dir) => {
        lastCheckpoint = step;
        note(`step ${step}: checkpoint written to ${dir}`);
      },
    }),
  ).catch((err: unknown) => {
    progress.stop();
    throw cliError(err, flags, lastCheckpoint);
  });
  printResult({ ...result, out: flags.out }, flags.json);
  if (result.interrupted) {
    throw new CliError(`train gpt: interrupted after step ${result.steps}; the checkpoint in ${flags.out} holds it; ${resumeHint()}`, EXIT.interrupted);
  }
}

function notTextMessage(path: string, w: NotTextWarning): string {
  const share = (100 * (w.replacementCharacters + w.controlCharacters)) / w.characters;
  return (
    `--data ${path} does not look like text: ${share.toFixed(1)}% of its ${w.characters.toLocaleString('en-US')} characters are ` +
    `invalid UTF-8 (${w.replacementCharacters.toLocaleString('en-US')}) or control characters (${w.controlCharacters.toLocaleString('en-US')}); training on it anyway`
  );
}

/** The library's errors in the CLI's words: settings become flags. */
function cliError(err: unknown, flags: GptFlags, lastCheckpoint: number | undefined): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof LmSettingsError) return new CliError(`train gpt: ${err.wordWith(flagOf)}`, EXIT.usage);
  if (err instanceof ResumeMismatchError) {
    const flag = flagOf(err.setting);
    return new CliError(
      `train gpt: --resume: ${flag} ${String(err.given)} differs from the run in ${flags.out} (${flag} ${String(err.saved)}); drop ${flag} to keep the run's value, or train into a new --out`,
      EXIT.usage,
    );
  }
  if (err instanceof TrainingDivergedError) {
    const where = err.during === 'step' ? `at step ${err.position.globalStep + 1}` : `in the evaluation after step ${err.position.globalStep}`;
    const kept = lastCheckpoint !== undefined ? `the checkpoint of step ${lastCheckpoint} in ${flags.out} is kept` : 'no checkpoint was written';
    return new CliError(`train gpt: training diverged ${where}: ${err.values}; ${kept}. Try a lower --lr.`, EXIT.failure);
  }
  return cliErrorFrom('train gpt', err);
}

function evalLine(e: EvalSample): string {
  const quoted = e.sample.length > 160 ? `${e.sample.slice(0, 160)}…` : e.sample;
  return `step ${e.step}: ${formatMetrics({ train_loss: e.trainLoss, val_loss: e.valLoss })}\n  sample: ${JSON.stringify(quoted)}`;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** One summary line whose tokens/s follows from its own figures, or (with --json) the result as the last stdout line. */
export function printResult(result: GptTrainReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const trained = result.steps - result.startStep;
  const steps = result.startStep > 0 ? `steps ${result.startStep}–${result.steps}` : `${result.steps} steps`;
  const losses = result.valLoss === null ? 'not evaluated yet' : formatMetrics({ train_loss: result.trainLoss!, val_loss: result.valLoss });
  const tokens = result.tokensPerSecond * result.trainingSeconds;
  process.stdout.write(
    `${result.architecture}, ${count(result.parameters)} parameters: ${steps}${result.interrupted ? ' (interrupted)' : ''} in ${result.seconds.toFixed(1)} s; ` +
      `the ${trained} training steps took ${result.trainingSeconds.toFixed(1)} s: ${count(tokens)} tokens, ${count(result.tokensPerSecond)} tokens/s - ${losses}\n` +
      (result.sample ? `sample:\n${result.sample}\n` : '') +
      `wrote ${result.out}\n`,
  );
}
