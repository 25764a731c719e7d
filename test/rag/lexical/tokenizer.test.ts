import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TOKEN_LENGTH, tokenize } from '../../../src/rag/lexical/tokenizer.js';

// Expectations follow Lucene's StandardTokenizer (UAX #29), as in its TestStandardAnalyzer.
describe('tokenize', () => {
  test("splits Lucene's example sentence", () => {
    assert.deepEqual(tokenize("The 2 QUICK Brown-Foxes jumped over the lazy dog's bone."), ['The', '2', 'QUICK', 'Brown', 'Foxes', 'jumped', 'over', 'the', 'lazy', "dog's", 'bone']);
  });

  test('hyphens split, letters and digits join', () => {
    assert.deepEqual(tokenize('covid-19 word-with-hyphen 1-800-555-1212'), ['covid', '19', 'word', 'with', 'hyphen', '1', '800', '555', '1212']);
    assert.deepEqual(tokenize('B2B 2B R2D2 C3PO h2o'), ['B2B', '2B', 'R2D2', 'C3PO', 'h2o']);
  });

  test('separators join only between two letters or two digits, and never at the end', () => {
    assert.deepEqual(tokenize("U.S.A. O'Reilly's don\u2019t a:b"), ['U.S.A', "O'Reilly's", 'don\u2019t', 'a:b']);
    assert.deepEqual(tokenize('21.35 1,000 3;4 v1.5.2 (n=12).'), ['21.35', '1,000', '3;4', 'v1.5.2', 'n', '12']);
    // a colon joins letters only, a comma digits only, a period neither letter-digit
    assert.deepEqual(tokenize('10:30 a,b x.1 1.x'), ['10', '30', 'a', 'b', 'x', '1', '1', 'x']);
    assert.deepEqual(tokenize("end. 'quoted' ..a.."), ['end', 'quoted', 'a']);
  });

  test('underscores join anything; a token of underscores alone is dropped', () => {
    assert.deepEqual(tokenize('snake_case __ _x x_ a_1'), ['snake_case', '_x', 'x_', 'a_1']);
  });

  test('Unicode letters, combining marks and format characters', () => {
    assert.deepEqual(tokenize('Caf\u00e9 nai\u0308ve co\u00adoperate \u0394\u03b9\u03ba\u03b7 \u043c\u0438\u0440'), ['Caf\u00e9', 'nai\u0308ve', 'cooperate', '\u0394\u03b9\u03ba\u03b7', '\u043c\u0438\u0440']);
  });

  test('Han and Hiragana characters are single tokens, Katakana runs join', () => {
    assert.deepEqual(tokenize('日本語テキストのトークン'), ['日', '本', '語', 'テキスト', 'の', 'トークン']);
  });

  test('characters outside the BMP are read whole', () => {
    assert.deepEqual(tokenize('\u{1d400}bc \u{20000}x'), ['\u{1d400}bc', '\u{20000}', 'x']);
  });

  test('a token longer than the maximum is cut into pieces', () => {
    const long = 'a'.repeat(MAX_TOKEN_LENGTH * 2 + 3);
    assert.deepEqual(tokenize(`x ${long} y`), ['x', 'a'.repeat(MAX_TOKEN_LENGTH), 'a'.repeat(MAX_TOKEN_LENGTH), 'aaa', 'y']);
  });

  test('empty and punctuation-only text gives no tokens', () => {
    assert.deepEqual(tokenize(''), []);
    assert.deepEqual(tokenize(' -- ... ,,, '), []);
  });
});
