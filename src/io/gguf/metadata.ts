/** Typed reads of a GGUF file's metadata; a missing or mistyped key is a GgufMetadataError naming it. */
import { GgufMetadataError } from './errors.js';
import type { GgufFile } from './reader.js';
import type { GgufValue } from './types.js';

const describe = (v: GgufValue): string => (Array.isArray(v) ? `an array of ${v.length}` : typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v));

export class GgufMetadata {
  constructor(readonly file: GgufFile) {}

  has(key: string): boolean {
    return this.file.metadata.has(key);
  }

  private get(key: string, what: string, required: boolean): GgufValue | undefined {
    const v = this.file.metadata.get(key);
    if (v === undefined && required) throw new GgufMetadataError(this.file.path, key, `no metadata key '${key}' (${what})`);
    return v;
  }

  private wrong(key: string, v: GgufValue, expected: string): never {
    throw new GgufMetadataError(this.file.path, key, `metadata key '${key}' must be ${expected}, got ${describe(v)}`);
  }

  string(key: string, what?: string): string;
  string(key: string, what: string, required: false): string | undefined;
  string(key: string, what = 'a string', required = true): string | undefined {
    const v = this.get(key, what, required);
    if (v === undefined || typeof v === 'string') return v;
    return this.wrong(key, v, 'a string');
  }

  /** A non-negative integer. */
  int(key: string, what?: string): number;
  int(key: string, what: string, required: false): number | undefined;
  int(key: string, what = 'an integer', required = true): number | undefined {
    const v = this.get(key, what, required);
    if (v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v;
    return this.wrong(key, v, 'a non-negative integer');
  }

  number(key: string, what?: string): number;
  number(key: string, what: string, required: false): number | undefined;
  number(key: string, what = 'a number', required = true): number | undefined {
    const v = this.get(key, what, required);
    if (v === undefined || (typeof v === 'number' && Number.isFinite(v))) return v;
    return this.wrong(key, v, 'a finite number');
  }

  bool(key: string, what: string, required: false): boolean | undefined {
    const v = this.get(key, what, required);
    if (v === undefined || typeof v === 'boolean') return v;
    return this.wrong(key, v, 'true or false');
  }

  strings(key: string, what: string): string[];
  strings(key: string, what: string, required: false): string[] | undefined;
  strings(key: string, what: string, required = true): string[] | undefined {
    const v = this.get(key, what, required);
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    return this.wrong(key, v, 'an array of strings');
  }

  numbers(key: string, what: string, required: false): number[] | undefined {
    const v = this.get(key, what, required);
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((s) => typeof s === 'number')) return v as number[];
    return this.wrong(key, v, 'an array of numbers');
  }
}
