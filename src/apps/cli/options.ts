/** Flag parsers that reject bad values with a message naming the flag. */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';

/** A positive integer, at most `max` when given (a size the machine or data cannot exceed). */
export function positiveInt(flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive integer, got '${value}'`);
    if (n > max) throw new InvalidArgumentError(`${flag} must be at most ${max.toLocaleString('en-US')}, got '${value}'`);
    return n;
  };
}

export function nonNegativeInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

export function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number, got '${value}'`);
    return n;
  };
}

export function numberInRange(flag: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < lo || n > hi) throw new InvalidArgumentError(`${flag} must be a number in [${lo}, ${hi}], got '${value}'`);
    return n;
  };
}

/** At most the cores this machine has: more intra-op threads than cores only contend. */
export function threadCount(flag: string) {
  const parse = positiveInt(flag);
  return (value: string): number => {
    const n = parse(value);
    const cores = availableParallelism();
    if (n > cores) throw new InvalidArgumentError(`${flag} must be at most ${cores} (the cores this machine has), got '${value}'`);
    return n;
  };
}

/** A directory that exists (what it holds is the command's to check). */
export function existingDirectory(name: string) {
  return (value: string): string => {
    let isDir: boolean;
    try {
      isDir = statSync(value).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InvalidArgumentError(code === 'ENOENT' ? `${name} '${value}' does not exist` : `${name} '${value}' cannot be read (${code ?? (err as Error).message})`);
    }
    if (!isDir) throw new InvalidArgumentError(`${name} '${value}' is a file, not a directory`);
    return value;
  };
}
