import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANALYZER, ENGLISH_STOP_WORDS, analyze, termFrequencies } from '../../../src/rag/lexical/analyzer.js';

// Expectations follow Lucene's EnglishAnalyzer (TestEnglishAnalyzer) and Porter's published stems.
describe('analyze', () => {
  test("Lucene's example sentence", () => {
    assert.deepEqual(analyze("The 2 QUICK Brown-Foxes jumped over the lazy dog's bone."), ['2', 'quick', 'brown', 'fox', 'jump', 'over', 'lazi', 'dog', 'bone']);
  });

  test('possessives are removed with any apostrophe, before lowercasing', () => {
    assert.deepEqual(analyze("steven's STEVEN'S steven\u2019s steven\uff07s"), ['steven', 'steven', 'steven', 'steven']);
    // only a final 's is a possessive
    assert.deepEqual(analyze("o'reilly don't"), ["o'reilli", "don't"]);
  });

  test("Lucene's 33 stop words are dropped, whatever their case", () => {
    assert.equal(ENGLISH_STOP_WORDS.size, 33);
    assert.deepEqual(analyze('The IS Not OF such Their WILL with'), []);
    // words Lucene keeps although other lists stop them
    assert.deepEqual(analyze('he she we were'), ['he', 'she', 'we', 'were']);
  });

  test("Porter stems (Porter's vocabulary examples)", () => {
    const pairs: [string, string][] = [
      ['caresses', 'caress'], ['ponies', 'poni'], ['cats', 'cat'], ['feed', 'feed'], ['agreed', 'agre'],
      ['plastered', 'plaster'], ['motoring', 'motor'], ['hopping', 'hop'], ['filing', 'file'], ['happy', 'happi'],
      ['relational', 'relat'], ['generalization', 'gener'], ['electrical', 'electr'], ['adjustable', 'adjust'],
      ['controlling', 'control'], ['biology', 'biologi'], ['archaeology', 'archaeolog'], ['is', 'is'],
    ];
    for (const [word, stem] of pairs) assert.deepEqual(analyze(word), word === 'is' ? [] : [stem], word);
    // words of one or two letters are not stemmed
    assert.deepEqual(analyze('ox as us'), ['ox', 'us']);
  });

  test('tokens keep digits and separators through the filters', () => {
    assert.deepEqual(analyze('COVID-19 patients (n=1,000; 3.5%) in the U.S.A.'), ['covid', '19', 'patient', 'n', '1,000', '3.5', 'u.s.a']);
  });

  test('termFrequencies counts terms after analysis', () => {
    const tf = termFrequencies('Cells, cell and CELL: the cells of a cell line.');
    assert.deepEqual([...tf.entries()], [['cell', 5], ['line', 1]]);
    assert.equal(termFrequencies('').size, 0);
  });

  test('the analyzer has a name stores record', () => {
    assert.match(ANALYZER, /^forja-en-\d+$/);
  });
});
