#!/usr/bin/env node
/**
 * The `forja` command. Each subcommand is one file in ./commands that exports
 * `register(program)`; adding a command is one file plus one line below.
 */
import { Command, CommanderError } from 'commander';
import { CliError } from './errors.js';

const program = new Command('forja')
  .description('Generative deep learning in TypeScript, compiled to ONNX Runtime')
  .showHelpAfterError()
  // Throw instead of exiting, so usage errors (bad flags) get exit code 2 below.
  // Subcommands created after this inherit it.
  .exitOverride();

const commands: Array<() => Promise<{ register(program: Command): void }>> = [
  // one line per command file
  () => import('./commands/export.js'),
  () => import('./commands/generate.js'),
  () => import('./commands/train.js'),
  () => import('./commands/train-gpt.js'),
  () => import('./commands/sample.js'),
  () => import('./commands/eval.js'),
];

for (const load of commands) (await load()).register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has already printed its message; help and --version exit 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof CliError) {
    process.stderr.write(`forja: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  throw err;
}
