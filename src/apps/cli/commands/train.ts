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
import { mnistModels, RunSettingsError, trainRun, type MnistModelSpec, type RunResult } from '../../../models/mnist/index.js';
import { CliError } from '../errors.js';
import { nonNegativeInt, positiveInt, positiveNumber } from '../options.js';
import { epochProgress, formatMetrics, type EpochProgress } from '../progress.js';

/** The `train` command, created on first use. */
export function trainCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'train');
  if (existing) return existing;
  return program.command('train').description('Train a model; `forja train <model> --help` lists its flags');
}

/** Flags every `forja train <model>` understands. */
export interface CommonTrainFlags {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  threads?: number;
  out?: string;
  json: boolean;
  resume: boolean;
}

/** Adds the flags of CommonTrainFlags, for any model's subcommand. */
export function addCommonTrainOptions(command: Command): Command {
  return command
    .option('--epochs <n>', 'passes over the training digits', positiveInt('--epochs'))
    .option('--batch-size <n>', 'examples per step', positiveInt('--batch-size'))
    .option('--lr <x>', 'learning rate', positiveNumber('--lr'))
    .option('--seed <n>', 'seed for the split, shuffling, initialisation and noise (default 0)', nonNegativeInt('--seed'))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: the model\'s choice, else one per core)', positiveInt('--threads'))
    .option('--out <dir>', 'output directory (default runs/<model>)')
    .option('--json', 'print the result as one JSON line (last line of stdout)', false)
    .option('--resume', 'continue the run in --out from its last checkpoint (its settings are kept)', false);
}

interface MnistTrainFlags extends CommonTrainFlags {
  limit?: number;
}

export function register(program: Command): void {
  const train = trainCommand(program);
  for (const spec of Object.values(mnistModels)) addMnistModel(train, spec);
}

function addMnistModel(train: Command, spec: MnistModelSpec): void {
  const { epochs, batchSize, lr } = spec.defaults;
  const command = train
    .command(spec.name)
    .description(`${spec.description} (defaults: --epochs ${epochs} --batch-size ${batchSize} --lr ${lr})`)
    .addHelpText('after', `\nLosses: ${spec.lossDoc}\nWrites weights, config.json, checkpoint.safetensors, loss.csv, loss.svg and a PNG grid into --out.`);
  addCommonTrainOptions(command).addOption(
    new Option('--limit <n>', 'train on only the first N digits (tests)').argParser(positiveInt('--limit')).hideHelp(),
  );
  command.action(async (flags: MnistTrainFlags) => {
    const result = await runMnistTraining(spec, flags);
    printResult(result, flags.json);
  });
}

async function runMnistTraining(spec: MnistModelSpec, flags: MnistTrainFlags): Promise<RunResult> {
  const threads = flags.threads ?? spec.threads;
  if (threads !== undefined) setThreads(threads);
  let progress: EpochProgress | undefined;
  try {
    return await trainRun(spec, {
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      lr: flags.lr,
      seed: flags.seed,
      outDir: flags.out ?? `runs/${spec.name}`,
      resume: flags.resume,
      limit: flags.limit,
      hooks: { epochStart: (epoch, epochs, steps) => (progress = epochProgress({ epoch, epochs, steps })) },
    });
  } catch (err) {
    progress?.end({});
    // Settings that contradict the run being resumed are usage errors; the rest (divergence, I/O) are failures.
    throw new CliError(`train ${spec.name}: ${(err as Error).message}`, err instanceof RunSettingsError ? 2 : 1);
  }
}

/** A one-line summary, or (with --json) the result as the last stdout line. */
function printResult(result: RunResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const { model, epochs, seconds, samples_per_second, out, ...rest } = result;
  const losses = Object.fromEntries(Object.entries(rest).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
  process.stdout.write(
    `${model}: ${epochs} epochs in ${seconds.toFixed(1)} s (${Math.round(samples_per_second)} samples/s) - ${formatMetrics(losses)}\n` +
      `wrote ${out}\n`,
  );
}
