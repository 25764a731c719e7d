#!/usr/bin/env node
/**
 * The `forja` command. Each subcommand is one file in ./commands that exports
 * `register(program)`; adding a command is one file plus one line below.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors.js';

/** Forja's package.json version; this file is src/apps/cli/main.ts (or dist/apps/cli/main.js), three levels down. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const program = new Command('forja')
  .description('Generative deep learning in TypeScript, compiled to ONNX Runtime')
  .version(packageVersion(), '-V, --version', 'print the version')
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
  () => import('./commands/generate-image.js'),
  () => import('./commands/eval.js'),
  () => import('./commands/finetune.js'),
  () => import('./commands/merge.js'),
  () => import('./commands/quantize.js'),
  () => import('./commands/embed.js'),
  () => import('./commands/rag.js'),
  () => import('./commands/transcribe.js'),
];

for (const load of commands) (await load()).register(program);

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
