/**
 * Facts about the text a run trains on: its fingerprint (so a resume can
 * check it continues on the same text) and whether it looks like text at all.
 */
import { createHash } from 'node:crypto';

export interface DataFingerprint {
  sha256: string;
  characters: number;
}

export function fingerprint(text: string): DataFingerprint {
  return { sha256: createHash('sha256').update(text).digest('hex'), characters: text.length };
}

/** The text is probably not text: bytes that are not UTF-8, or control characters. */
export interface NotTextWarning {
  kind: 'not-text';
  characters: number;
  /** U+FFFD: bytes that did not decode as UTF-8. */
  replacementCharacters: number;
  /** C0/C1 controls other than tab, newline, carriage return and form feed. */
  controlCharacters: number;
}

/** Above this share of odd characters a file is binary (or another encoding); prose has none. */
export const NOT_TEXT_FRACTION = 0.01;

/** A warning when more than 1% of `text` is U+FFFD or control characters, else undefined. */
export function inspectText(text: string): NotTextWarning | undefined {
  let replacementCharacters = 0;
  let controlCharacters = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd) replacementCharacters++;
    else if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || (c >= 0x7f && c < 0xa0)) controlCharacters++;
  }
  if (replacementCharacters + controlCharacters <= NOT_TEXT_FRACTION * text.length) return undefined;
  return { kind: 'not-text', characters: text.length, replacementCharacters, controlCharacters };
}
