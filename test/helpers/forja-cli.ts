/** Running the `forja` command in a child process, as a user would, for CLI tests. */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';

/** Node's arguments that run `forja` from the TypeScript sources through tsx: the working tree, without a build. */
export const FORJA_SOURCE: readonly string[] = ['--import', 'tsx', join(REPO_ROOT, 'src/apps/cli/main.ts')];

/**
 * Node's arguments that run `forja` in CLI tests: the sources, or with FORJA_TEST_CLI=bundle the built bundle that
 * bin/forja.js runs (dist/cli/, after `npm run build`), to check the bundle against every CLI test.
 */
export const FORJA_CLI: readonly string[] = process.env.FORJA_TEST_CLI === 'bundle' ? [join(REPO_ROOT, 'bin/forja.js')] : FORJA_SOURCE;

/** The environment of a CLI test's child: the caches of src/io/cache.ts off (tests write only to temp dirs). */
export const cliEnv = (env: Record<string, string> = {}): NodeJS.ProcessEnv => ({ FORJA_NO_CACHE: '1', ...process.env, ...env });

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `forja ...args` from the repository root; resolves (never rejects) with the exit code and output. */
export function forja(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...FORJA_CLI, ...args],
      { cwd: REPO_ROOT, timeout: 300_000, env: cliEnv(env) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The last stdout line parsed as JSON (what `--json` promises). */
export function lastJsonLine(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/**
 * `forja ...args`, sent `signal` once stderr matches `when` (e.g. the first
 * epoch's JSON line): how a user's Ctrl-C or a killed job looks to the command.
 */
export function forjaSignalled(args: readonly string[], signal: NodeJS.Signals, when: RegExp): Promise<CliRun & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...FORJA_CLI, ...args], { cwd: REPO_ROOT, env: cliEnv() });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr, signal: sig });
    });
  });
}
