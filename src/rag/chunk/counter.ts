/** The token counter chunking falls back to when there is no embedding model: whitespace-separated words. */
import type { TokenCounter } from '../../text/embedder.js';

/** Runs of non-whitespace characters (JavaScript's `\s`), counted without building substrings. */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Fast path for ASCII; the rest goes through the regular expression's definition of whitespace.
    const space = c < 128 ? c === 32 || (c >= 9 && c <= 13) : /\s/.test(text[i]!);
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      n++;
    }
  }
  return n;
}

export const whitespaceCounter: TokenCounter = { countTokens: countWords };
