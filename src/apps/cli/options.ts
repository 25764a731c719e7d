/** Flag parsers that reject bad values with a message naming the flag. */
import { InvalidArgumentError } from 'commander';

export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive integer, got '${value}'`);
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
