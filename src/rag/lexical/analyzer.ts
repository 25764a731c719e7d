/**
 * The English text analyzer of the BM25 index, built like Lucene's EnglishAnalyzer (which Anserini's
 * DefaultEnglishAnalyzer uses for its BEIR baselines): UAX #29 word tokens (./tokenizer.ts), possessive
 * `'s` removed, lowercased, Lucene's 33 English stop words dropped, Porter-stemmed.
 *
 * Stores record ANALYZER; a store indexed by another analyzer refuses queries, so change the name whenever
 * the output of `analyze` changes for any input.
 */
import { stemmer } from 'stemmer';
import { tokenize } from './tokenizer.js';

export const ANALYZER = 'forja-en-1';

/** Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not',
  'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was',
  'will', 'with',
]);

// Lucene's EnglishPossessiveFilter: apostrophe, right single quote or fullwidth apostrophe, then s or S.
const POSSESSIVE = /['\u2019\uff07][sS]$/;

// Stemming is the costly step and vocabularies are small next to token counts.
const STEM_CACHE_LIMIT = 200_000;
const stems = new Map<string, string>();

function stem(word: string): string {
  let s = stems.get(word);
  if (s === undefined) {
    s = stemmer(word);
    if (stems.size >= STEM_CACHE_LIMIT) stems.clear();
    stems.set(word, s);
  }
  return s;
}

/** The index terms of `text`, in order, repeats kept. */
export function analyze(text: string): string[] {
  const terms: string[] = [];
  for (let token of tokenize(text)) {
    if (POSSESSIVE.test(token)) token = token.slice(0, -2);
    token = token.toLowerCase();
    if (token.length === 0 || ENGLISH_STOP_WORDS.has(token)) continue;
    terms.push(stem(token));
  }
  return terms;
}

/** Term -> occurrences in `text`; the sum of the counts is the text's BM25 length. */
export function termFrequencies(text: string): Map<string, number> {
  const tf = new Map<string, number>();
  for (const term of analyze(text)) tf.set(term, (tf.get(term) ?? 0) + 1);
  return tf;
}
