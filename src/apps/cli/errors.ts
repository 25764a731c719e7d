/**
 * Exit codes, the same for every command (README "Command line" has the table):
 *   0  ok
 *   1  failure: the command ran and failed (an input that cannot be read or used, a download,
 *      a write, non-finite weights, a diverged training run)
 *   2  usage: a bad flag or argument, conflicting flags, an input path that does not exist,
 *      an output path that cannot be written
 *   130 interrupted (Ctrl-C)
 */
import { HubError } from '../../io/download.js'; // where it is defined; hub.js would load safetensors into `forja --help`

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A user-facing CLI error: printed without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Library errors that mean the path or id given on the command line names nothing. */
function namesNothing(err: unknown): boolean {
  return err instanceof HubError && (err.code === 'BAD_ID' || err.code === 'NOT_FOUND');
}

/** The exit code for an error a command caught from the library. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  return namesNothing(err) ? EXIT.usage : EXIT.failure;
}

/** `err` as a CliError whose message starts with `context` (e.g. "sample runs/vae"). */
export function cliErrorFrom(context: string, err: unknown): CliError {
  if (err instanceof CliError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(`${context}: ${message}`, exitCodeOf(err));
}
