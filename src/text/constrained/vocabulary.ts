/**
 * Every token id as the bytes it adds to the text, sorted so that tokens sharing a prefix are
 * neighbours (the mask walk reuses the recognizer state of the shared prefix). Computed once per
 * tokenizer object and cached.
 */
import type { TextTokenizer } from '../tokenizer.js';

/** The tokenizer surface read here: `Tokenizer` has all of it; a plain `TextTokenizer` is decoded id by id. */
export type VocabularySource = Pick<TextTokenizer, 'vocabSize' | 'decode'> & {
  idToToken?(id: number): string | undefined;
  isSpecial?(id: number): boolean;
};

export interface TokenVocabulary {
  size: number;
  /** 'byte-level' (GPT-2's bytes_to_unicode), 'sentencepiece' (▁ and <0xNN>), or 'decoded' (decode of each id). */
  kind: 'byte-level' | 'sentencepiece' | 'decoded';
  /** Bytes of each id; null for special tokens and ids without a token. */
  bytes: (Uint8Array | null)[];
  /** Ids with bytes, in byte order of their bytes. */
  order: Int32Array;
  /** For order[k]: the bytes it shares with order[k - 1]. */
  lcp: Int32Array;
  /** The same for the tokens that are not plain string text (they hold '"', '\\' or a control byte). */
  structural: { order: Int32Array; lcp: Int32Array };
  /** 1 where a token is plain string text. */
  plain: Uint8Array;
  /** Per UTF-8 state (`utf8Class`): 1 where a plain token continues it into well-formed UTF-8. */
  utf8Ok: Uint8Array[];
  /** Code points each token starts (bytes that are not UTF-8 continuation bytes). */
  codePoints: Uint32Array;
}

// The states of a UTF-8 decoder between characters: continuation bytes still needed and the range of the next one.
const UTF8_STATES: readonly (readonly [number, number, number])[] = [
  [0, 0x80, 0xbf],
  [1, 0x80, 0xbf],
  [2, 0x80, 0xbf],
  [2, 0xa0, 0xbf],
  [2, 0x80, 0x9f],
  [3, 0x80, 0xbf],
  [3, 0x90, 0xbf],
  [3, 0x80, 0x8f],
];

/** Index into `utf8Ok` of a decoder state (need, lo, hi). */
export function utf8Class(need: number, lo: number, hi: number): number {
  if (need === 0) return 0;
  return UTF8_STATES.findIndex(([n, l, h]) => n === need && l === lo && h === hi);
}

// Whether `bytes` read from a UTF-8 state stay well-formed (ending mid-character is fine).
function utf8Continues(bytes: Uint8Array, [need0, lo0, hi0]: readonly [number, number, number]): boolean {
  let need = need0;
  let lo = lo0;
  let hi = hi0;
  for (const b of bytes) {
    if (need > 0) {
      if (b < lo || b > hi) return false;
      need--;
      lo = 0x80;
      hi = 0xbf;
    } else if (b < 0x80) continue;
    else if (b < 0xc2 || b > 0xf4) return false;
    else if (b < 0xe0) need = 1;
    else if (b < 0xf0) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    }
  }
  return true;
}

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest are shifted to 256 + n. */
export function byteLevelDecoder(): Map<string, number> {
  const map = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map.set(String.fromCharCode(printable ? b : 256 + n++), b);
  }
  return map;
}

const cache = new WeakMap<object, TokenVocabulary>();
const encoder = new TextEncoder();
const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;

export function tokenVocabulary(tokenizer: VocabularySource): TokenVocabulary {
  let vocab = cache.get(tokenizer);
  if (!vocab) cache.set(tokenizer, (vocab = buildVocabulary(tokenizer)));
  return vocab;
}

function buildVocabulary(tokenizer: VocabularySource): TokenVocabulary {
  const size = tokenizer.vocabSize;
  const strings: (string | undefined)[] = [];
  const special: boolean[] = [];
  for (let id = 0; id < size; id++) {
    special.push(tokenizer.isSpecial?.(id) ?? false);
    strings.push(tokenizer.idToToken ? tokenizer.idToToken(id) : undefined);
  }
  const kind = tokenizer.idToToken ? vocabularyKind(strings, special) : 'decoded';
  const table = kind === 'byte-level' ? byteLevelDecoder() : undefined;
  const bytes = strings.map((s, id): Uint8Array | null => {
    if (special[id]) return null;
    if (kind === 'decoded') return nonEmpty(encoder.encode(tokenizer.decode([id])));
    if (s === undefined) return null;
    if (kind === 'sentencepiece') {
      const fallback = BYTE_FALLBACK.exec(s);
      return nonEmpty(fallback ? Uint8Array.of(parseInt(fallback[1]!, 16)) : encoder.encode(s.replace(/\u2581/g, ' ')));
    }
    const out: number[] = [];
    for (const c of s) {
      const b = table!.get(c);
      // An added token that is not byte-mapped (e.g. "<|im_start|>" marked non-special) reads as its UTF-8.
      if (b === undefined) return nonEmpty(encoder.encode(s));
      out.push(b);
    }
    return nonEmpty(Uint8Array.from(out));
  });
  const ids = [...bytes.keys()].filter((id) => bytes[id] !== null);
  ids.sort((a, b) => Buffer.compare(bytes[a]!, bytes[b]!));
  const plain = new Uint8Array(size);
  const codePoints = new Uint32Array(size);
  const utf8Ok = UTF8_STATES.map(() => new Uint8Array(size));
  for (const id of ids) {
    const b = bytes[id]!;
    plain[id] = b.every((x) => x >= 0x20 && x !== 0x22 && x !== 0x5c) ? 1 : 0;
    codePoints[id] = b.filter((x) => x < 0x80 || x >= 0xc0).length;
    if (plain[id]) UTF8_STATES.forEach((state, c) => (utf8Ok[c]![id] = utf8Continues(b, state) ? 1 : 0));
  }
  const { order, lcp } = sortedWithLcp(ids, bytes);
  const structural = sortedWithLcp(ids.filter((id) => !plain[id]), bytes);
  return { size, kind, bytes, order, lcp, structural, plain, utf8Ok, codePoints };
}

function sortedWithLcp(ids: readonly number[], bytes: readonly (Uint8Array | null)[]): { order: Int32Array; lcp: Int32Array } {
  const order = Int32Array.from(ids);
  const lcp = new Int32Array(order.length);
  for (let k = 1; k < order.length; k++) {
    const a = bytes[order[k - 1]!]!;
    const b = bytes[order[k]!]!;
    let n = 0;
    while (n < a.length && n < b.length && a[n] === b[n]) n++;
    lcp[k] = n;
  }
  return { order, lcp };
}

const nonEmpty = (b: Uint8Array): Uint8Array | null => (b.length > 0 ? b : null);

// SentencePiece vocabularies spell spaces as U+2581 and bytes as <0xNN>; byte-level ones never have U+2581.
function vocabularyKind(strings: readonly (string | undefined)[], special: readonly boolean[]): TokenVocabulary['kind'] {
  let pieces = 0;
  for (let id = 0; id < strings.length; id++) {
    const s = strings[id];
    if (s !== undefined && !special[id] && (s.includes('\u2581') || BYTE_FALLBACK.test(s))) pieces++;
  }
  return pieces > 0 ? 'sentencepiece' : 'byte-level';
}
