/**
 * `forja train <model> [flags]`: one subcommand per model. The MNIST models
 * are added here; another file adds its own model (e.g. `gpt`) with
 *
 *   trainCommand(program).command('gpt')...action(...)
 *
 * from its own `register`, so `train` is created once whichever file
 * registers first, and each model keeps its own flags.
 */
import { Option, type Command } from 'commander';
import { setThreads } from '../../../runtime/session.js';
import { isResumableRun, mnistModels, NothingToResumeError, trainRun, VALIDATION_COUNT, type MnistModelSpec, type RunResult } from '../../../models/mnist/index.js';
import { CheckpointError, ResumeMismatchError, TrainingDivergedError } from '../../../train/index.js';
import { CliError, EXIT } from '../errors.js';
import { positiveInt, positiveNumber, nonNegativeInt, threadCount } from '../options.js';
import { prepareOutDir } from '../output.js';
import { formatMetrics, progressCallback } from '../progress.js';
import { interruptible, resumeHint } from '../interrupt.js';

/** The `train` command, created on first use. */
export function trainCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'train');
  if (existing) return existing;
  return program.command('train').description('Train a model; `forja train <model> --help` lists its flags');
}

interface MnistTrainFlags {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  threads?: number;
  out?: string;
  json: boolean;
  resume: boolean;
  overwrite: boolean;
  limit?: number;
}

/** The flag for each setting a resume compares. */
const SETTING_FLAGS: Record<string, string> = { seed: '--seed', batchSize: '--batch-size', lr: '--lr', limit: '--limit', model: 'the model' };

/** Most digits a step can take: the training split of the 10,000 digits. */
const MAX_BATCH = 10_000 - VALIDATION_COUNT;

export function register(program: Command): void {
  const train = trainCommand(program);
  for (const spec of Object.values(mnistModels)) addMnistModel(train, spec);
}

function addMnistModel(train: Command, spec: MnistModelSpec): void {
  const { epochs, batchSize, lr } = spec.defaults;
  train
    .command(spec.name)
    .description(`${spec.description} (defaults: --epochs ${epochs} --batch-size ${batchSize} --lr ${lr})`)
    .addHelpText('after', `\nLosses: ${spec.lossDoc}\nWrites weights, config.json, checkpoint.safetensors, loss.csv, loss.svg and a PNG grid into --out.\nCtrl-C saves a checkpoint and exits 130; --resume continues from it.`)
    .option('--epochs <n>', 'passes over the training digits', positiveInt('--epochs'))
    .option('--batch-size <n>', 'examples per step', positiveInt('--batch-size', MAX_BATCH))
    .option('--lr <x>', 'learning rate', positiveNumber('--lr'))
    .option('--seed <n>', 'seed for the split, shuffling, initialisation and noise (default 0)', nonNegativeInt('--seed'))
    .option('--threads <n>', "ONNX Runtime intra-op threads (default: the model's choice, else one per core)", threadCount('--threads'))
    .option('--out <dir>', 'output directory (default runs/<model>)')
    .option('--json', 'print the result as one JSON line (last line of stdout), and one JSON line per epoch on stderr', false)
    .option('--resume', 'continue the run in --out from its last checkpoint (its settings are kept)', false)
    .option('--overwrite', 'train into a non-empty --out that is not a run to resume', false)
    .addOption(new Option('--limit <n>', 'train on only the first N digits (tests)').argParser(positiveInt('--limit')).hideHelp())
    .action(async (flags: MnistTrainFlags) => {
      const result = await runMnistTraining(spec, flags);
      printResult(result, flags.json);
      if (result.interrupted) {
        process.stderr.write(`forja: interrupted at epoch ${result.position.epoch + 1}, step ${result.position.step}; the checkpoint is in ${result.out}\n${resumeHint()}\n`);
        process.exitCode = EXIT.interrupted;
      }
    });
}

async function runMnistTraining(spec: MnistModelSpec, flags: MnistTrainFlags): Promise<RunResult> {
  const outDir = flags.out ?? `runs/${spec.name}`;
  await prepareOutDir(outDir, { flag: '--out', overwrite: flags.overwrite, resume: flags.resume, kind: spec.name, resumable: (dir) => isResumableRun(dir, spec.name) });
  const threads = flags.threads ?? spec.threads;
  if (threads !== undefined) setThreads(threads);
  const progress = progressCallback({ jsonLines: flags.json });
  try {
    return await interruptible((signal) =>
      trainRun(spec, {
        epochs: flags.epochs,
        batchSize: flags.batchSize,
        lr: flags.lr,
        seed: flags.seed,
        limit: flags.limit,
        outDir,
        resume: flags.resume,
        callbacks: [progress],
        signal,
      }),
    );
  } catch (err) {
    throw trainError(`train ${spec.name}`, err, outDir);
  } finally {
    progress.stop();
  }
}

/** A library error from a training run, worded with the flags that fix it. */
export function trainError(context: string, err: unknown, outDir: string): CliError {
  if (err instanceof ResumeMismatchError) {
    const flag = SETTING_FLAGS[err.setting] ?? err.setting;
    return new CliError(`${context}: --resume: ${flag} ${String(err.given)} differs from the run in ${outDir} (${String(err.saved)}); drop the flag or train into a new --out`);
  }
  if (err instanceof NothingToResumeError) {
    return new CliError(err.reason === 'finished' ? `${context}: --resume: ${outDir} already finished its ${err.epochs} epochs; pass a larger --epochs to train more` : `${context}: --resume: no checkpoint in ${outDir}`);
  }
  if (err instanceof TrainingDivergedError) {
    return new CliError(`${context}: ${err.message}. The last good checkpoint in ${outDir} is kept (continue with --resume); a lower --lr may help`, EXIT.failure);
  }
  if (err instanceof CheckpointError) return new CliError(`${context}: ${err.message}`, EXIT.failure);
  return new CliError(`${context}: ${(err as Error).message}`, EXIT.failure);
}

/** A one-line summary, or (with --json) the result as the last stdout line. */
function printResult(result: RunResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const losses = Object.fromEntries(
    (['trainLoss', 'valLoss', 'gLoss', 'dLoss'] as const).filter((k) => result[k] !== undefined).map((k) => [k, result[k]!]),
  );
  process.stdout.write(
    `${result.model}: ${result.epochs}/${result.epochsAsked} epochs in ${result.seconds.toFixed(1)} s ` +
      `(${Math.round(result.samplesPerSecond)} samples/s over ${result.trainSeconds.toFixed(1)} s of training steps) - ${formatMetrics(losses)}\n` +
      `wrote ${result.out}\n`,
  );
}
