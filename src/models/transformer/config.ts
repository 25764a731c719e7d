/**
 * Typed reads of a Hugging Face config.json. Every getter names the config
 * key, the architecture and the value it received when something is off.
 */
export type ConfigJson = Readonly<Record<string, unknown>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const describe = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

export class ConfigReader {
  constructor(
    readonly json: ConfigJson,
    /** e.g. "GPT2LMHeadModel config.json" */
    readonly where: string,
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  /** A positive integer, or `fallback` when the key is absent or null. */
  int(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new ConfigError(`${this.where}: "${key}" must be a positive integer, received ${describe(this.json[key])}`);
    }
    return v;
  }

  number(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(`${this.where}: "${key}" must be a number, received ${describe(this.json[key])}`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'boolean') throw new ConfigError(`${this.where}: "${key}" must be true or false, received ${describe(v)}`);
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'string') throw new ConfigError(`${this.where}: "${key}" must be a string, received ${describe(this.json[key])}`);
    return v;
  }

  /** A nested object (e.g. rope_parameters), or undefined when absent. */
  object(key: string): ConfigReader | undefined {
    const v = this.json[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw new ConfigError(`${this.where}: "${key}" must be an object, received ${describe(v)}`);
    }
    return new ConfigReader(v as ConfigJson, `${this.where} "${key}"`);
  }

  /** Fail if `key` holds a value Forja does not implement. */
  require(key: string, allowed: readonly unknown[], fallback?: unknown): void {
    const v = this.json[key] ?? fallback;
    if (!allowed.includes(v)) {
      throw new ConfigError(`${this.where}: "${key}" = ${describe(v)} is not supported (supported: ${allowed.map(describe).join(', ')})`);
    }
  }
}

/** The architecture named in config.json ("architectures": ["GPT2LMHeadModel"]). */
export function architectureOf(json: ConfigJson, where: string): string {
  const list = json.architectures;
  if (!Array.isArray(list) || typeof list[0] !== 'string') {
    throw new ConfigError(`${where}: config.json has no "architectures" list, received ${describe(list)}`);
  }
  return list[0];
}
