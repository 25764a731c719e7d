/**
 * A byte-level pushdown recognizer for JSON directed by schema nodes. A state is a list of threads
 * (alternatives still alive: anyOf branches, a declared or an undeclared key); each thread is a
 * persistent stack of immutable frames, so stepping never copies more than the top frame and a
 * state can be kept, shared and stepped again for free. An empty list is the dead state.
 */
import { ANY, ANY_ARRAY, ANY_NUMBER, ANY_OBJECT, ANY_STRING, LITERALS, type LiteralTrie, type ObjectNode, type SchemaNode } from './nodes.js';

/** Limits that keep generation finite where JSON itself has none. */
export interface RecognizerLimits {
  /** Most whitespace bytes in a row between two tokens of JSON (models love endless newlines). Default 12. */
  maxWhitespace: number;
  /** Most bytes in one number (exponents have at most 2 digits, so numbers stay finite). Default 32. */
  maxNumberLength: number;
}

const enum T {
  Done,
  Value,
  Object,
  Key,
  Str,
  Num,
  Lit,
  Array,
}

interface Done {
  t: T.Done;
}
interface ValueF {
  t: T.Value;
  node: SchemaNode;
  ws: number;
}
// Object phases: 0 after '{', 1 after ',', 2 after a key, 3 in a value, 4 after a value, 5 in a key.
interface ObjectF {
  t: T.Object;
  node: ObjectNode;
  phase: number;
  ws: number;
  /** Declared properties already present. */
  seen: readonly boolean[];
  /** Undeclared names already present. */
  extra: Cons<string> | null;
  /** The property whose value is being read: an index into node.names, or -1 for an undeclared one. */
  current: number;
}
interface KeyF {
  t: T.Key;
  trie: LiteralTrie;
  /** The object's declared properties already present: a key may only head for the others. */
  seen: readonly boolean[];
}
interface StrF {
  t: T.Str;
  minLength: number;
  maxLength: number;
  /** Code points so far (a surrogate pair written as two escapes counts once, as ajv counts). */
  length: number;
  /** 0: plain; 1: after '\'; 2..5: reading the 4 hex digits of \u. */
  esc: number;
  hex: number;
  afterHigh: boolean;
  /** UTF-8 continuation bytes still expected, and the range the next one must fall in. */
  need: number;
  lo: number;
  hi: number;
  /** For an undeclared key: its bytes so far (newest first), to compare names when it closes. */
  bytes: Cons<number> | null;
  key: boolean;
}
// Number phases: 0 start, 1 after '-', 2 integer digits, 3 after a leading 0, 4 after '.', 5 fraction, 6 after e, 7 after e sign, 8 exponent.
interface NumF {
  t: T.Num;
  phase: number;
  length: number;
  /** Exponent digits so far: at most 2, so that every accepted number is finite (1e999 parses to Infinity). */
  exp: number;
  integer: boolean;
}
interface LitF {
  t: T.Lit;
  trie: LiteralTrie;
}
interface ArrayF {
  t: T.Array;
  min: number;
  max: number;
  items: SchemaNode;
  /** 0 after '[', 1 in an item, 2 after an item, 3 after ','. */
  phase: number;
  count: number;
  ws: number;
}
type Frame = Done | ValueF | ObjectF | KeyF | StrF | NumF | LitF | ArrayF;

interface Cons<V> {
  v: V;
  next: Cons<V> | null;
}
export interface Thread {
  f: Frame;
  up: Thread | null;
}
/** A recognizer state: the threads still alive. Empty = dead. Never mutated once made. */
export type RecognizerState = readonly Thread[];

const DONE: Thread = { f: { t: T.Done }, up: null };
const isWs = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i;
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const COMPLETE_NUMBER = [false, false, true, true, false, true, false, false, true];

export class JsonRecognizer {
  readonly limits: RecognizerLimits;
  /** The state before any byte. */
  readonly initial: RecognizerState;

  /** `root` undefined: any JSON object (OpenAI's json_object mode). */
  constructor(root?: SchemaNode, limits: Partial<RecognizerLimits> = {}) {
    this.limits = { maxWhitespace: limits.maxWhitespace ?? 12, maxNumberLength: limits.maxNumberLength ?? 32 };
    this.initial = [{ f: { t: T.Value, node: root ?? ANY_OBJECT, ws: 0 }, up: DONE }];
  }

  step(state: RecognizerState, byte: number): RecognizerState {
    const out: Thread[] = [];
    for (const thread of state) this.stepThread(thread, byte, out);
    return out;
  }

  stepBytes(state: RecognizerState, bytes: Uint8Array): RecognizerState {
    for (let i = 0; i < bytes.length && state.length > 0; i++) state = this.step(state, bytes[i]!);
    return state;
  }

  /** Whether the text read so far is one complete value (so EOS may follow). */
  isComplete(state: RecognizerState): boolean {
    for (const { f, up } of state) {
      if (f.t === T.Done) return true;
      if (up?.f.t !== T.Done) continue;
      if (f.t === T.Num && COMPLETE_NUMBER[f.phase]) return true;
      if (f.t === T.Lit && f.trie.end !== undefined) return true;
    }
    return false;
  }

  /** Whether the whole of `text` is a valid value (for tests and enum filtering). */
  accepts(text: string): boolean {
    return this.isComplete(this.stepBytes(this.initial, new TextEncoder().encode(text)));
  }

  /** Whether `text` can still be completed into a valid value. */
  acceptsPrefix(text: string): boolean {
    return this.stepBytes(this.initial, new TextEncoder().encode(text)).length > 0;
  }

  private stepThread(th: Thread, b: number, out: Thread[]): void {
    const f = th.f;
    switch (f.t) {
      case T.Done:
        return;
      case T.Value:
        if (isWs(b)) {
          if (f.ws < this.limits.maxWhitespace) out.push({ f: { ...f, ws: f.ws + 1 }, up: th.up });
          return;
        }
        return this.start(f.node, b, th.up!, out);
      case T.Object:
        return this.stepObject(f, th, b, out);
      case T.Key: {
        const child = f.trie.children.get(b);
        if (!child || child.under.every((i) => f.seen[i])) return;
        if (child.end !== undefined) return this.keyDone(th.up!, child.end, undefined, out);
        out.push({ f: { t: T.Key, trie: child, seen: f.seen }, up: th.up });
        return;
      }
      case T.Str:
        return this.stepString(f, th, b, out);
      case T.Num:
        return this.stepNumber(f, th, b, out);
      case T.Lit: {
        const child = f.trie.children.get(b);
        if (child) {
          if (child.end !== undefined && child.children.size === 0) this.done(th.up!, out);
          else out.push({ f: { t: T.Lit, trie: child }, up: th.up });
        }
        // enum [1, 12]: "1" may be whole, and this byte belongs to what follows.
        if (f.trie.end !== undefined) this.doneThen(th.up!, b, out);
        return;
      }
      case T.Array:
        return this.stepArray(f, th, b, out);
    }
  }

  /** The first byte of a value of `node`, on top of `up`. */
  private start(node: SchemaNode, b: number, up: Thread, out: Thread[]): void {
    switch (node.kind) {
      case 'any':
        if (b === 0x7b) return this.start(ANY_OBJECT, b, up, out);
        if (b === 0x5b) return this.start(ANY_ARRAY, b, up, out);
        if (b === 0x22) return this.start(ANY_STRING, b, up, out);
        if (b === 0x2d || isDigit(b)) return this.start(ANY_NUMBER, b, up, out);
        return this.start(LITERALS, b, up, out);
      case 'never':
        return;
      case 'anyOf':
        for (const option of node.options) this.start(option, b, up, out);
        return;
      case 'ref':
        return this.start(node.target ?? ANY, b, up, out);
      case 'object':
        if (b === 0x7b) out.push({ f: { t: T.Object, node, phase: 0, ws: 0, seen: node.names.map(() => false), extra: null, current: -1 }, up });
        return;
      case 'array':
        if (b === 0x5b) out.push({ f: { t: T.Array, min: node.minItems, max: node.maxItems, items: node.items, phase: 0, count: 0, ws: 0 }, up });
        return;
      case 'string':
        if (b === 0x22) out.push({ f: newString(node.minLength, node.maxLength, false), up });
        return;
      case 'number':
        return this.stepNumber({ t: T.Num, phase: 0, length: 0, exp: 0, integer: node.integer }, { f: DONE.f, up }, b, out);
      case 'literal':
        return this.stepThread({ f: { t: T.Lit, trie: node.trie }, up }, b, out);
    }
  }

  /** The value on top of `up` ended with the byte just read. */
  private done(up: Thread, out: Thread[]): void {
    const p = up.f;
    if (p.t === T.Object) out.push({ f: { ...p, phase: 4, ws: 0 }, up: up.up });
    else if (p.t === T.Array) out.push({ f: { ...p, phase: 2, count: p.count + 1, ws: 0 }, up: up.up });
    else out.push(up);
  }

  /** The value on top of `up` ended before byte `b`, which its parent reads. */
  private doneThen(up: Thread, b: number, out: Thread[]): void {
    const after: Thread[] = [];
    this.done(up, after);
    for (const th of after) this.stepThread(th, b, out);
  }

  private stepObject(f: ObjectF, th: Thread, b: number, out: Thread[]): void {
    const { phase, node } = f;
    if (isWs(b) && phase !== 3 && phase !== 5) {
      if (f.ws < this.limits.maxWhitespace) out.push({ f: { ...f, ws: f.ws + 1 }, up: th.up });
      return;
    }
    if (b === 0x7d && (phase === 0 || phase === 4)) {
      if (node.required.every((r, i) => !r || f.seen[i])) this.done(th.up!, out);
      return;
    }
    if (b === 0x22 && (phase === 0 || phase === 1)) {
      const keyTh: Thread = { f: { ...f, phase: 5, ws: 0 }, up: th.up };
      if (f.seen.includes(false)) out.push({ f: { t: T.Key, trie: node.keys, seen: f.seen }, up: keyTh });
      if (node.additional) out.push({ f: newString(0, Infinity, true), up: keyTh });
      return;
    }
    if (b === 0x3a && phase === 2) {
      const value = f.current >= 0 ? node.values[f.current]! : node.additional!;
      out.push({ f: { t: T.Value, node: value, ws: 0 }, up: { f: { ...f, phase: 3, ws: 0 }, up: th.up } });
      return;
    }
    if (b === 0x2c && phase === 4 && (node.additional !== null || f.seen.includes(false))) {
      out.push({ f: { ...f, phase: 1, ws: 0 }, up: th.up });
    }
  }

  /** A key closed: a declared one (`index`) or an undeclared `name`. */
  private keyDone(up: Thread, index: number, name: string | undefined, out: Thread[]): void {
    const p = up.f as ObjectF;
    if (name !== undefined) {
      if (p.node.names.includes(name)) return;
      for (let c = p.extra; c; c = c.next) if (c.v === name) return;
      out.push({ f: { ...p, phase: 2, current: -1, extra: { v: name, next: p.extra } }, up: up.up });
      return;
    }
    if (p.seen[index]) return;
    const seen = p.seen.slice();
    seen[index] = true;
    out.push({ f: { ...p, phase: 2, current: index, seen }, up: up.up });
  }

  private stepString(f: StrF, th: Thread, b: number, out: Thread[]): void {
    const bytes = f.key ? { v: b, next: f.bytes } : null;
    if (f.need > 0) {
      if (b >= f.lo && b <= f.hi) out.push({ f: { ...f, need: f.need - 1, lo: 0x80, hi: 0xbf, bytes }, up: th.up });
      return;
    }
    if (f.esc === 1) {
      if (SIMPLE_ESCAPES.has(b)) out.push({ f: { ...f, esc: 0, length: f.length + 1, afterHigh: false, bytes }, up: th.up });
      else if (b === 0x75) out.push({ f: { ...f, esc: 2, hex: 0, bytes }, up: th.up });
      return;
    }
    if (f.esc >= 2) {
      const digit = HEX[b]!;
      if (digit < 0) return;
      const hex = f.hex * 16 + digit;
      if (f.esc < 5) {
        out.push({ f: { ...f, esc: f.esc + 1, hex, bytes }, up: th.up });
        return;
      }
      const pairs = f.afterHigh && hex >= 0xdc00 && hex <= 0xdfff;
      const length = f.length + (pairs ? 0 : 1);
      if (length <= f.maxLength) out.push({ f: { ...f, esc: 0, hex: 0, length, afterHigh: !pairs && hex >= 0xd800 && hex <= 0xdbff, bytes }, up: th.up });
      return;
    }
    if (b === 0x22) {
      if (f.length < f.minLength) return;
      if (!f.key) return this.done(th.up!, out);
      return this.keyDone(th.up!, -1, decodeKey(f.bytes), out);
    }
    if (b < 0x20 || b > 0xf4 || (b >= 0x80 && b < 0xc2)) return;
    if (b === 0x5c) {
      if (f.length < f.maxLength || f.afterHigh) out.push({ f: { ...f, esc: 1, bytes }, up: th.up });
      return;
    }
    if (f.length >= f.maxLength) return;
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xf0) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else if (b >= 0xe0) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0x80) need = 1;
    out.push({ f: { ...f, length: f.length + 1, afterHigh: false, need, lo, hi, bytes }, up: th.up });
  }

  private stepNumber(f: NumF, th: Thread, b: number, out: Thread[]): void {
    let phase = -1;
    const digit = isDigit(b);
    switch (f.phase) {
      case 0:
        phase = b === 0x2d ? 1 : b === 0x30 ? 3 : digit ? 2 : -1;
        break;
      case 1:
        phase = b === 0x30 ? 3 : digit ? 2 : -1;
        break;
      case 2:
      case 3:
        if (digit && f.phase === 2) phase = 2;
        else if (b === 0x2e && !f.integer) phase = 4;
        else if ((b === 0x65 || b === 0x45) && !f.integer) phase = 6;
        break;
      case 4:
      case 5:
        if (digit) phase = 5;
        else if (f.phase === 5 && (b === 0x65 || b === 0x45)) phase = 6;
        break;
      case 6:
        phase = b === 0x2b || b === 0x2d ? 7 : digit ? 8 : -1;
        break;
      case 7:
      case 8:
        phase = digit && f.exp < 2 ? 8 : -1;
        break;
    }
    const room = this.limits.maxNumberLength - f.length - (phase >= 0 && !COMPLETE_NUMBER[phase] ? 1 : 0);
    if (phase >= 0 && room > 0) out.push({ f: { ...f, phase, length: f.length + 1, exp: phase === 8 ? f.exp + 1 : 0 }, up: th.up });
    else if (COMPLETE_NUMBER[f.phase]) this.doneThen(th.up!, b, out);
  }

  private stepArray(f: ArrayF, th: Thread, b: number, out: Thread[]): void {
    const { phase } = f;
    if (isWs(b) && phase !== 3) {
      if (f.ws < this.limits.maxWhitespace) out.push({ f: { ...f, ws: f.ws + 1 }, up: th.up });
      return;
    }
    if (b === 0x5d && (phase === 0 || phase === 2)) {
      if (f.count >= f.min) this.done(th.up!, out);
      return;
    }
    if (phase === 2) {
      if (b === 0x2c && f.count < f.max) out.push({ f: { t: T.Value, node: f.items, ws: 0 }, up: { f: { ...f, phase: 1, ws: 0 }, up: th.up } });
      return;
    }
    if (phase === 0 && f.max > 0) this.start(f.items, b, { f: { ...f, phase: 1, ws: 0 }, up: th.up }, out);
  }
}

function newString(minLength: number, maxLength: number, key: boolean): StrF {
  return { t: T.Str, minLength, maxLength, length: 0, esc: 0, hex: 0, afterHigh: false, need: 0, lo: 0x80, hi: 0xbf, bytes: null, key };
}

function decodeKey(bytes: Cons<number> | null): string {
  const list: number[] = [];
  for (let c = bytes; c; c = c.next) list.push(c.v);
  list.reverse();
  return JSON.parse(`"${Buffer.from(list).toString('utf8')}"`) as string;
}

/**
 * For a thread inside a string between characters and escapes: its UTF-8 decoder state and how many
 * more code points fit. Plain text (no '"', '\\', control bytes) is then valid iff it is well-formed
 * UTF-8 from that state and short enough, which the mask reads from tables instead of stepping.
 */
export function stringRun(thread: Thread): { need: number; lo: number; hi: number; room: number } | undefined {
  const f = thread.f;
  if (f.t !== T.Str || f.esc !== 0) return undefined;
  return { need: f.need, lo: f.lo, hi: f.hi, room: f.maxLength - f.length };
}

/** Whether `text` is a complete value of `node` (enum values are filtered through this). */
export function matches(node: SchemaNode, text: string): boolean {
  return new JsonRecognizer(node, { maxWhitespace: 0, maxNumberLength: Infinity }).accepts(text);
}
