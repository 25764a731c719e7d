/**
 * Word tokenization after the word-boundary rules of Unicode UAX #29, the rules Lucene's StandardTokenizer
 * implements, so that BM25 here ranks like Anserini's BEIR runs:
 * - letters and digits join ("h2o", "b12"); a hyphen splits ("covid-19" -> "covid", "19");
 * - between letters `.`, `'`, `’` and `:` join ("u.s.a", "don't"); between digits `.`, `,` and `;` join
 *   ("3.5", "1,000"); a trailing one is dropped;
 * - `_` and other connector punctuation join anything ("snake_case");
 * - Katakana runs join; each Han or Hiragana character is a token of its own;
 * - combining marks stay with their letter; format characters (soft hyphen, zero-width joiner) are dropped.
 * A token longer than MAX_TOKEN_LENGTH code units is cut into pieces of that length, as Lucene does.
 */

export const MAX_TOKEN_LENGTH = 255;

const enum C {
  Other,
  Letter,
  Digit,
  Katakana,
  /** Han and Hiragana: one token per character. */
  Ideograph,
  /** Joins two letters. */
  MidLetter,
  /** Joins two digits. */
  MidNum,
  /** Joins two letters or two digits. */
  MidNumLet,
  ExtendNumLet,
  /** Combining marks: part of the preceding character. */
  Extend,
  /** Format characters: ignored. */
  Format,
}

const MID_LETTER = new Set([0x3a, 0xb7, 0x387, 0x55f, 0x5f4, 0x2027, 0xfe13, 0xfe55, 0xff1a]);
const MID_NUM = new Set([0x2c, 0x3b, 0x37e, 0x589, 0x60c, 0x60d, 0x66c, 0x7f8, 0x2044, 0xfe10, 0xfe14, 0xfe50, 0xfe54, 0xff0c, 0xff1b]);
const MID_NUM_LET = new Set([0x27, 0x2e, 0x2018, 0x2019, 0x2024, 0xfe52, 0xff07, 0xff0e]);

const RE_KATAKANA = /[\p{Script=Katakana}\u30fc\uff70]/u;
const RE_IDEOGRAPH = /[\p{Script=Han}\p{Script=Hiragana}]/u;
const RE_LETTER = /\p{L}/u;
const RE_DIGIT = /\p{Nd}/u;
const RE_EXTEND = /\p{M}/u;
const RE_FORMAT = /\p{Cf}/u;
const RE_CONNECTOR = /\p{Pc}/u;

const ASCII: C[] = [];
for (let c = 0; c < 128; c++) ASCII.push(classifySlow(c));
const cache = new Map<number, C>();

function classifySlow(cp: number): C {
  if (MID_LETTER.has(cp)) return C.MidLetter;
  if (MID_NUM.has(cp)) return C.MidNum;
  if (MID_NUM_LET.has(cp)) return C.MidNumLet;
  const ch = String.fromCodePoint(cp);
  if (RE_KATAKANA.test(ch)) return C.Katakana;
  if (RE_IDEOGRAPH.test(ch)) return C.Ideograph;
  if (RE_LETTER.test(ch)) return C.Letter;
  if (RE_DIGIT.test(ch)) return C.Digit;
  if (RE_EXTEND.test(ch)) return C.Extend;
  if (RE_FORMAT.test(ch)) return C.Format;
  if (RE_CONNECTOR.test(ch)) return C.ExtendNumLet;
  return C.Other;
}

function classify(cp: number): C {
  if (cp < 128) return ASCII[cp]!;
  let c = cache.get(cp);
  if (c === undefined) {
    c = classifySlow(cp);
    cache.set(cp, c);
  }
  return c;
}

function joinsAcrossMid(mid: C, before: C, after: C): boolean {
  if (before === C.Letter && after === C.Letter) return mid === C.MidLetter || mid === C.MidNumLet;
  if (before === C.Digit && after === C.Digit) return mid === C.MidNum || mid === C.MidNumLet;
  return false;
}

function joinsDirectly(before: C, after: C): boolean {
  if (after === C.ExtendNumLet) return before !== C.Ideograph;
  if (before === C.ExtendNumLet) return after === C.Letter || after === C.Digit || after === C.Katakana;
  if (before === C.Katakana || after === C.Katakana) return before === after;
  return (before === C.Letter || before === C.Digit) && (after === C.Letter || after === C.Digit);
}

/** The words of `text` in order, case kept. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  let token = '';
  let hasWordChar = false;
  // Class of the last character in `token` (ignoring marks), and a separator waiting for what follows.
  let last: C = C.Other;
  let mid = '';
  let midClass: C = C.Other;

  const flush = (): void => {
    if (hasWordChar) pushToken(out, token);
    token = '';
    hasWordChar = false;
    last = C.Other;
    mid = '';
  };

  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const ch = cp > 0xffff ? text.slice(i, i + 2) : text[i]!;
    i += ch.length;
    const c = classify(cp);
    if (c === C.Format) continue;
    if (c === C.Extend) {
      if (token && !mid) token += ch;
      continue;
    }
    if (c === C.MidLetter || c === C.MidNum || c === C.MidNumLet) {
      if (token && !mid && (last === C.Letter || last === C.Digit)) {
        mid = ch;
        midClass = c;
      } else flush();
      continue;
    }
    if (c === C.Other) {
      flush();
      continue;
    }
    if (c === C.Ideograph) {
      flush();
      out.push(ch);
      continue;
    }
    if (token && (mid ? joinsAcrossMid(midClass, last, c) : joinsDirectly(last, c))) {
      token += mid + ch;
      mid = '';
    } else {
      flush();
      token = ch;
    }
    last = c;
    if (c !== C.ExtendNumLet) hasWordChar = true;
  }
  flush();
  return out;
}

function pushToken(out: string[], token: string): void {
  for (let at = 0; at < token.length; at += MAX_TOKEN_LENGTH) out.push(token.slice(at, at + MAX_TOKEN_LENGTH));
}
