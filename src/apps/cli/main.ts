#!/usr/bin/env node
/**
 * The `forja` command. Each subcommand is one file in ./commands that exports
 * `register(program)`; adding a command is one file plus one line below.
 */
import { Command } from 'commander';
import { CliError } from './errors.js';

const program = new Command('forja')
  .description('Generative deep learning in TypeScript, compiled to ONNX Runtime')
  .showHelpAfterError();

const commands: Array<() => Promise<{ register(program: Command): void }>> = [
  // one line per command file
];

for (const load of commands) (await load()).register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`forja: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  throw err;
}
