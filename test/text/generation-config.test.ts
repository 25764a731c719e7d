import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  generationConfigFromJson,
  normalizeGenerationOptions,
  resolveGenerationConfig,
  type GenerationConfig,
  type ResolveContext,
} from '../../src/text/generation-config.js';

const CTX: ResolveContext = { promptLength: 5, maxPositions: 100 };
const resolve = (options: GenerationConfig, defaults: GenerationConfig = {}, ctx = CTX) => resolveGenerationConfig(options, defaults, ctx);

describe('generationConfigFromJson', () => {
  test('keeps the generation keys, skips unknown keys and nulls (transformers writes many)', () => {
    const json = { _from_model_config: true, transformers_version: '5.17.0', bos_token_id: 1, eos_token_id: [2, 3], pad_token_id: null, temperature: 0.7, max_length: 20, do_sample: true };
    assert.deepEqual(generationConfigFromJson(json), { eos_token_id: [2, 3], temperature: 0.7, max_length: 20, do_sample: true });
  });

  test('a known key with a bad value names the file, the key, what it must be and what it was', () => {
    assert.throws(() => generationConfigFromJson({ top_p: 2 }, 'dir/generation_config.json'), /^Error: dir\/generation_config\.json: top_p must be a number in \[0, 1\], received 2$/);
    assert.throws(() => generationConfigFromJson({ eos_token_id: [1, -2] }), /generation_config\.json: eos_token_id must be a token id or a list of token ids, received \[1,-2\]/);
    assert.throws(() => generationConfigFromJson({ early_stopping: 'always' }), /early_stopping must be true, false or 'never', received "always"/);
  });
});

describe('normalizeGenerationOptions', () => {
  test('camelCase aliases become HF names', () => {
    const c = normalizeGenerationOptions({ maxNewTokens: 4, doSample: true, topK: 3, topP: 0.5, minP: 0.1, numBeams: 2, lengthPenalty: 0.5, earlyStopping: 'never', repetitionPenalty: 1.2, noRepeatNgramSize: 2, eosTokenId: 7, padTokenId: 0, stopStrings: 'x', minNewTokens: 1, minLength: 2, maxLength: 9 });
    assert.deepEqual(c, {
      max_new_tokens: 4, do_sample: true, top_k: 3, top_p: 0.5, min_p: 0.1, num_beams: 2, length_penalty: 0.5, early_stopping: 'never',
      repetition_penalty: 1.2, no_repeat_ngram_size: 2, eos_token_id: 7, pad_token_id: 0, stop_strings: 'x', min_new_tokens: 1, min_length: 2, max_length: 9,
    });
  });

  test('both spellings: equal values are fine, different ones are an error naming both', () => {
    assert.deepEqual(normalizeGenerationOptions({ eos_token_id: [1, 2], eosTokenId: [1, 2] }), { eos_token_id: [1, 2] });
    assert.throws(() => normalizeGenerationOptions({ top_k: 5, topK: 6 }, 'pipeline'), /^Error: pipeline: topK \(6\) and top_k \(5\) disagree; give one of them$/);
  });

  test('every value is validated, camelCase ones included', () => {
    assert.throws(() => normalizeGenerationOptions({ maxNewTokens: 0 }), /^Error: generate: max_new_tokens must be a positive integer, received 0$/);
    assert.throws(() => normalizeGenerationOptions({ num_beams: 1.5 }), /num_beams must be a positive integer, received 1\.5/);
    assert.throws(() => normalizeGenerationOptions({ repetition_penalty: 0 }), /repetition_penalty must be a positive number, received 0/);
    assert.throws(() => normalizeGenerationOptions({ temperature: -1 }), /temperature must be a non-negative number, received -1/);
    assert.throws(() => normalizeGenerationOptions({ stop_strings: ['a', ''] }), /stop_strings must be a non-empty string or a list of them, received \["a",""\]/);
    assert.throws(() => normalizeGenerationOptions({ seed: 0.5 }), /seed must be an integer, received 0\.5/);
    assert.throws(() => normalizeGenerationOptions({ length_penalty: Infinity }), /length_penalty must be a finite number, received Infinity/);
  });
});

describe('resolveGenerationConfig', () => {
  test("transformers' defaults: 20 new tokens, greedy, top_k 50, one beam, pad = first EOS", () => {
    assert.deepEqual(resolve({}, { eos_token_id: [9, 4] }), {
      maxLength: 25, minLength: 0, doSample: false, temperature: 1, topK: 50, topP: 1, minP: undefined, numBeams: 1, lengthPenalty: 1,
      earlyStopping: false, repetitionPenalty: 1, noRepeatNgramSize: 0, eosTokenIds: [9, 4], padTokenId: 9, stopStrings: [], seed: undefined,
    });
  });

  test('max_new_tokens counts from the prompt and wins over max_length', () => {
    assert.equal(resolve({ max_new_tokens: 7 }).maxLength, 12);
    assert.equal(resolve({ max_new_tokens: 7, max_length: 50 }).maxLength, 12);
    assert.equal(resolve({ max_length: 50 }).maxLength, 50);
    assert.equal(resolve({ max_length: 50 }, { max_new_tokens: 3 }).maxLength, 50, 'an explicit option beats any default');
  });

  test('defaults from generation_config.json: max_new_tokens, then a max_length other than 20, clamped to the context', () => {
    assert.equal(resolve({}, { max_new_tokens: 3 }).maxLength, 8);
    assert.equal(resolve({}, { max_length: 40 }).maxLength, 40);
    // 20 is transformers' own default written back to the file: it means "20 new tokens".
    assert.equal(resolve({}, { max_length: 20 }).maxLength, 25);
    assert.equal(resolve({}, { max_length: 400 }).maxLength, 100, 'clamped to the context length');
    assert.equal(resolve({}, {}, { promptLength: 90, maxPositions: 100 }).maxLength, 100);
  });

  test('length errors name the numbers', () => {
    assert.throws(() => resolve({ max_new_tokens: 96 }), /^Error: generate: prompt \(5 tokens\) \+ max_new_tokens \(96\) = 101 exceeds the model's context length of 100 positions$/);
    assert.throws(() => resolve({ max_length: 5 }), /max_length 5 leaves no room for new tokens after the 5-token prompt/);
    assert.throws(() => resolve({}, { max_length: 4 }), /the generation_config\.json max_length 4 leaves no room for new tokens after the 5-token prompt/);
    assert.throws(() => resolve({}, {}, { promptLength: 1, maxPositions: 1 }), /the prompt has 1 token but the model's context length is 1, leaving no room/);
  });

  test('min_new_tokens counts from the prompt and wins over min_length', () => {
    assert.equal(resolve({ min_new_tokens: 3 }).minLength, 8);
    assert.equal(resolve({ min_new_tokens: 3, min_length: 2 }).minLength, 8);
    assert.equal(resolve({}, { min_length: 6 }).minLength, 6);
  });

  test('options override defaults key by key; lists stay lists', () => {
    const r = resolve({ temperature: 0.5, stop_strings: 'END', eos_token_id: 3 }, { temperature: 0.9, top_k: 10, do_sample: true, pad_token_id: 0, eos_token_id: [1, 2] });
    assert.deepEqual([r.temperature, r.topK, r.doSample, r.padTokenId, r.eosTokenIds, r.stopStrings], [0.5, 10, true, 0, [3], ['END']]);
  });

  test('sampling needs a positive temperature; greedy ignores it', () => {
    assert.throws(() => resolve({ do_sample: true, temperature: 0 }, {}, { ...CTX, source: 'pipeline' }), /^Error: pipeline: temperature must be positive when sampling, received 0 \(use do_sample: false for greedy decoding\)$/);
    assert.equal(resolve({ temperature: 0 }).doSample, false);
  });
});
