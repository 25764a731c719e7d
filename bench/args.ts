/** Command-line parsing the benchmarks share (they take few flags, so no CLI library). */

/** `value` as a positive integer, or an error naming `flag`. */
export function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** Options whose every flag takes a positive integer: `flags` maps each flag to its key in `defaults`. */
export function parseIntFlags<T extends { [K in keyof T]: number }>(argv: readonly string[], defaults: T, flags: Readonly<Record<string, keyof T>>): T {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = flags[argv[i]!];
    if (!key) throw new Error(`unknown flag '${argv[i]}' (flags: ${Object.keys(flags).join(', ')})`);
    opts[key] = positiveInt(argv[i]!, argv[i + 1]) as T[keyof T];
  }
  return opts;
}
