#!/usr/bin/env node
/**
 * The `forja` command. Each subcommand is one file in ./commands that exports
 * `register(program)`; adding a command is one file plus one line in `commands` below.
 */
import { Command, CommanderError } from 'commander';
import { setCacheEnabled } from '../../io/cache.js';
import { packageVersion } from '../../io/package-root.js';
import { CliError, EXIT } from './errors.js';

const program = new Command('forja')
  .description('Generative deep learning in TypeScript, compiled to ONNX Runtime')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError()
  // Throw instead of exiting, so usage errors (bad flags) get exit code 2 below.
  // Subcommands created after this inherit it.
  .exitOverride();

/**
 * One line per command file: the command it adds (with its arguments, for the listing), a summary for
 * `forja --help`, and its module. A module is imported only when its command runs or its help is asked for, so
 * `forja --help` loads no model code (onnxruntime-node, sharp, pdf.js, SQLite); the module's `register(program)`
 * defines the flags, the full description and the action. Files adding subcommands to one command (`train`) each
 * get a line with that command's name; a file that adds a single subcommand names it too (`train gpt`), so
 * `forja train autoencoder` does not load the GPT stack (its tokenizers, hub and transformer models: ~0.35 MB of
 * the bundle), and the summary stands in for it in `forja train --help`'s listing of other runs.
 */
const commands: Array<[usage: string, summary: string, load: () => Promise<{ register(program: Command): void }>]> = [
  ['export', 'Export a model for other runtimes (ONNX, transformers.js layout)', () => import('./commands/export.js')],
  ['generate <prompt>', 'Generate text with a causal language model', () => import('./commands/generate.js')],
  ['train', 'Train a model (MNIST models, gpt); `forja train <model> --help` lists its flags', () => import('./commands/train.js')],
  ['train gpt', 'Train a GPT-2 or Llama-style model from scratch on a text file', () => import('./commands/train-gpt.js')],
  ['sample <dir>', 'Draw new digits from a trained VAE, GAN, DCGAN or diffusion model', () => import('./commands/sample.js')],
  ['generate-image <prompt>', 'Draw digits from a prompt ("7", "a seven") with a diffusion model', () => import('./commands/generate-image.js')],
  ['eval <dir>', "FID of a trained MNIST model's digits against held-out digits", () => import('./commands/eval.js')],
  ['finetune', 'Fine-tune a causal LM checkpoint on text or JSONL, in full or with LoRA', () => import('./commands/finetune.js')],
  ['merge', 'Merge a LoRA adapter into its base model', () => import('./commands/merge.js')],
  ['quantize', "Quantize a checkpoint's linear maps to 8 or 4 bits", () => import('./commands/quantize.js')],
  ['embed [texts...]', 'Embed texts with a sentence-transformers model', () => import('./commands/embed.js')],
  ['rag', 'Ingest documents, search them, answer with citations, measure retrieval', () => import('./commands/rag.js')],
  ['transcribe <files...>', 'Transcribe or translate audio with a Whisper model', () => import('./commands/transcribe.js')],
  ['serve', 'Serve models over an OpenAI-compatible HTTP API with continuous batching', () => import('./commands/serve.js')],
];

/**
 * The command and subcommand argv names: its first two words, or the two after `help` (neither the program nor a
 * command with subcommands takes option values).
 */
function requestedCommand(args: readonly string[]): [command?: string, subcommand?: string] {
  const words = args.filter((a) => !a.startsWith('-'));
  const [command, subcommand] = words[0] === 'help' ? words.slice(1) : words;
  return [command, subcommand];
}

// Decoded datasets and optimized ONNX models in $FORJA_CACHE (~/.cache/forja): a second run starts in a fraction
// of the first's time. FORJA_NO_CACHE=1 turns it off.
setCacheEnabled(true);

const [requested, requestedSub] = requestedCommand(process.argv.slice(2));
for (const [usage, summary, load] of commands) {
  const [name, second] = usage.split(' ') as [string, string?];
  const subcommand = second && !/^[<[]/.test(second) ? second : undefined;
  if (name !== requested) {
    // Stands in for the listing and for commander's suggestions on a misspelt command.
    if (!program.commands.some((c) => c.name() === name)) program.command(subcommand ? name : usage).description(summary);
  } else if (subcommand && requestedSub !== undefined && requestedSub !== subcommand) {
    // The same, one level down. Never run: argv named another subcommand.
    const parent = program.commands.find((c) => c.name() === name) ?? program.command(name);
    parent.command(subcommand).description(summary).action(() => {
      throw new Error(`forja ${name} ${subcommand}: its module was not loaded (argv named ${requestedSub})`);
    });
  } else {
    (await load()).register(program);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has already printed its message; help and --version exit 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  if (err instanceof CliError) {
    process.stderr.write(`forja: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  // Not a failure any command expected: a bug, so keep the stack for the report.
  process.stderr.write(`forja: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT.failure);
}
