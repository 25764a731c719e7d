/**
 * Checks on the paths a command will write, made before any work starts, so a run does not compute
 * for minutes and then fail on a bad --out (or print a stack trace). Each failure is a usage error
 * (exit 2) naming the flag and the path.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CliError } from './errors.js';

const errnoCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Throws unless files can be created in `dir`, or (when it does not exist yet) in its nearest
 * existing ancestor, from which the missing directories would be made. The test writes and removes
 * a temporary file: permission bits lie for root and for read-only or virtual filesystems (/sys).
 */
async function probeWritableDir(dir: string, flag: string, path: string): Promise<void> {
  let at = resolve(dir);
  for (;;) {
    const st = await statOrUndefined(at).catch((err: unknown) => {
      throw new CliError(`${flag} ${path}: cannot check ${at} (${errnoCode(err) ?? (err as Error).message})`);
    });
    if (st) {
      if (!st.isDirectory()) throw new CliError(`${flag} ${path}: ${at} is a file, not a directory`);
      break;
    }
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  const probe = join(at, `.forja-write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (err) {
    const where = at === resolve(dir) ? at : `${at} (to create ${resolve(dir)})`;
    throw new CliError(`${flag} ${path}: cannot write in ${where}: ${errnoCode(err) ?? (err as Error).message}`);
  }
  await rm(probe, { force: true });
}

/** Checks that `path` (given with `flag`) can be written: not a directory, in a writable directory. */
export async function checkWritableFile(path: string, flag: string): Promise<void> {
  if (path === '') throw new CliError(`${flag} must not be empty`);
  const st = await statOrUndefined(path).catch(() => undefined);
  if (st?.isDirectory()) throw new CliError(`${flag} ${path} is a directory; give a file path`);
  await probeWritableDir(dirname(path), flag, path);
}

/** Checks that files can be written in `dir` (given with `flag`), which need not exist yet. Returns whether it exists. */
export async function checkWritableDir(dir: string, flag: string): Promise<boolean> {
  if (dir === '') throw new CliError(`${flag} must not be empty`);
  const st = await statOrUndefined(dir).catch((err: unknown) => {
    throw new CliError(`${flag} ${dir}: cannot check it (${errnoCode(err) ?? (err as Error).message})`);
  });
  if (st && !st.isDirectory()) throw new CliError(`${flag} ${dir} is a file, not a directory`);
  await probeWritableDir(dir, flag, dir);
  return st !== undefined;
}

export interface PrepareOutDirOptions {
  /** The flag that named the directory, for messages (e.g. '--out'). */
  flag: string;
  /** --overwrite: write into a non-empty directory. */
  overwrite: boolean;
  /** --resume: continue the run in the directory. */
  resume?: boolean;
  /** Whether the directory holds a run of this command's kind that can be resumed. */
  resumable?: (dir: string) => boolean | Promise<boolean>;
  /** The kind of run, for messages (e.g. 'vae', 'gpt'). */
  kind?: string;
}

/** What the caller should do with the directory. */
export type OutDirState = 'new' | 'resume' | 'overwrite';

/**
 * Checks a training output directory before training starts: not empty-named, not a file, writable,
 * and, if not empty, either a resumable run (with --resume) or explicitly overwritten. Nothing is
 * created or deleted.
 */
export async function prepareOutDir(dir: string, opts: PrepareOutDirOptions): Promise<OutDirState> {
  const { flag, overwrite, resume = false, resumable } = opts;
  if (overwrite && resume) throw new CliError('--overwrite and --resume cannot be combined: --resume continues the run, --overwrite starts again');
  const run = opts.kind ? `${/^[aeiou]/i.test(opts.kind) ? 'an' : 'a'} ${opts.kind} run` : 'a run';
  const exists = await checkWritableDir(dir, flag);
  const empty = !exists || (await readdir(dir)).length === 0;
  const canResume = !empty && resumable !== undefined && (await resumable(dir));
  if (resume) {
    if (canResume) return 'resume';
    throw new CliError(empty ? `--resume: ${flag} ${dir} holds no run to continue` : `--resume: ${flag} ${dir} does not hold ${run} that can be resumed`);
  }
  if (empty) return 'new';
  if (overwrite) return 'overwrite';
  throw new CliError(
    canResume
      ? `${flag} ${dir} already holds ${run}: pass --resume to continue it or --overwrite to start again`
      : `${flag} ${dir} is not empty and does not hold ${run} that can be resumed: pass --overwrite to write into it, or choose another ${flag}`,
  );
}
