/**
 * `forja train gpt --data FILE.txt [...]`: train a GPT-2-architecture model
 * from scratch and save it as a Hugging Face checkpoint in --out (see
 * models/lm-training.ts). Progress goes to stderr (a live line on a TTY,
 * evaluation lines always); stdout gets the summary, or with --json one JSON line.
 * Ctrl-C stops after the current step and writes a checkpoint first.
 */
import { Option, type Command } from 'commander';
import { readTextFile } from '../../../data/text.js';
import { GPT_DEFAULTS, LmSettingsError, runLmTraining, type EvalReport, type LmRunResult, type LmTrainSettings } from '../../../models/lm-training.js';
import { setThreads } from '../../../runtime/session.js';
import { CliError } from '../errors.js';
import { nonNegativeInt, numberInRange, positiveInt, positiveNumber } from '../options.js';
import { formatMetrics } from '../progress.js';
import { trainCommand } from './train.js';

interface GptFlags {
  data: string;
  tokenizer: string;
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
}

/** The summary `--json` prints. */
export type GptTrainReport = Omit<LmRunResult, 'out'> & { out: string };

const d = GPT_DEFAULTS;

export function register(program: Command): void {
  const command = trainCommand(program)
    .command('gpt')
    .description(`Train a GPT-2 model from scratch on a text file and save it as a Hugging Face checkpoint (defaults: ${d.layers} layers, ${d.heads} heads, ${d.embd} wide, block ${d.blockSize}, ${d.steps} steps)`)
    .requiredOption('--data <file>', 'UTF-8 text to train on (first 90% train, last 10% validation)')
    .option('--tokenizer <char|gpt2|dir>', "'char' (vocabulary from the text), 'gpt2' (from the Hugging Face cache, offline) or a tokenizer directory", 'char')
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
    .option('--threads <n>', 'ONNX Runtime intra-op threads', positiveInt('--threads'))
    .option('--out <dir>', 'checkpoint directory', 'runs/gpt')
    .option('--json', 'print the result as one JSON line (last line of stdout)', false)
    .option('--resume', 'continue the run in --out from its last checkpoint (its settings are kept)', false)
    .addOption(hidden('--eval-batches <n>', 'batches per split per evaluation', positiveInt('--eval-batches')))
    .addOption(hidden('--sample-tokens <n>', 'tokens per periodic sample', positiveInt('--sample-tokens')))
    .addOption(hidden('--warmup-steps <n>', 'linear warmup steps', nonNegativeInt('--warmup-steps')))
    .addHelpText('after', '\nWrites config.json, model.safetensors, generation_config.json and tokenizer files (GPT2LMHeadModel),\nplus optimizer.safetensors and trainer_state.json for --resume, into --out at every evaluation.');
  command.action(async (flags: GptFlags) => {
    const result = await train(flags);
    printResult(result, flags.json);
  });
}

function hidden(flags: string, description: string, parse: (value: string) => number): Option {
  return new Option(flags, description).argParser(parse).hideHelp();
}

function settingsOf(flags: GptFlags): Partial<LmTrainSettings> {
  const keys = ['layers', 'heads', 'embd', 'blockSize', 'steps', 'lr', 'batchSize', 'dropout', 'evalInterval', 'evalBatches', 'sampleTokens', 'warmupSteps', 'seed'] as const;
  return Object.fromEntries(keys.filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]]));
}

async function train(flags: GptFlags): Promise<GptTrainReport> {
  if (flags.threads !== undefined) setThreads(flags.threads);
  const text = await readTextFile(flags.data).catch((err: unknown) => {
    throw new CliError(`train gpt: --data: ${(err as Error).message}`);
  });
  const progress = new StepProgress();
  const stop = new AbortController();
  const onSigint = (): void => {
    if (stop.signal.aborted) process.exit(130);
    progress.note('stopping after this step (Ctrl-C again to quit without saving)');
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runLmTraining({
      text,
      tokenizer: flags.tokenizer,
      settings: settingsOf(flags),
      outDir: flags.out,
      resume: flags.resume,
      signal: stop.signal,
      hooks: {
        start: (settings, step) => progress.start(settings.steps, step),
        step: (step, loss, lr) => progress.step(step, { loss, lr }),
        evaluated: (report, sample) => progress.note(evalLine(report, sample)),
        saved: (step, dir) => progress.note(`step ${step}: checkpoint written to ${dir}`),
      },
    });
    return { ...result, out: flags.out };
  } catch (err) {
    throw new CliError(`train gpt: ${(err as Error).message}`, err instanceof LmSettingsError ? 2 : 1);
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
  }
}

function evalLine(report: EvalReport, sample: string): string {
  const quoted = sample.length > 160 ? `${sample.slice(0, 160)}…` : sample;
  return `step ${report.step}: ${formatMetrics({ train_loss: report.trainLoss, val_loss: report.valLoss })}\n  sample: ${JSON.stringify(quoted)}`;
}

export function printResult(result: GptTrainReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const speed = Math.round(result.tokens_per_second).toLocaleString('en-US');
  process.stdout.write(
    `gpt: ${result.steps} steps${result.interrupted ? ' (interrupted)' : ''} in ${result.seconds.toFixed(1)} s (${speed} tokens/s) - ` +
      `${formatMetrics({ train_loss: result.train_loss, val_loss: result.val_loss })}\n` +
      `sample:\n${result.sample}\n` +
      `wrote ${result.out}\n`,
  );
}

/**
 * A live "step 120/2000 - loss: 2.1034 - lr: 0.0020 - 1.85 steps/s - ETA 17m" line
 * on a TTY (redrawn at most 10 times a second); notes always go to stderr.
 */
class StepProgress {
  private readonly tty = process.stderr.isTTY === true;
  private lastDraw = 0;
  private line = '';
  private started = performance.now();
  private firstStep = 0;
  private total = 0;

  start(total: number, step: number): void {
    this.total = total;
    this.firstStep = step;
    this.started = performance.now();
  }

  step(step: number, metrics: Record<string, number>): void {
    const now = performance.now();
    if (!this.tty || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const perSecond = (step - this.firstStep) / ((now - this.started) / 1000);
    const eta = Math.round((this.total - step) / perSecond / 60);
    this.line = `step ${step}/${this.total} - ${formatMetrics(metrics)} - ${perSecond.toFixed(2)} steps/s - ETA ${eta}m`;
    process.stderr.write(`\r\x1b[K${this.line}`);
  }

  note(text: string): void {
    process.stderr.write(this.tty ? `\r\x1b[K${text}\n${this.line}` : `${text}\n`);
  }

  done(): void {
    if (this.tty && this.line) process.stderr.write('\r\x1b[K');
  }
}
