import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { poolingModeOf, promptFor, readSentenceTransformerLayout, SentenceTransformersError } from '../../../src/models/bert/sentence-transformers.js';
import { fixturePath } from '../../helpers/fixtures.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A directory holding just the given JSON files. */
function layoutDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'forja-st-layout-'));
  dirs.push(dir);
  for (const [file, json] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), typeof json === 'string' ? json : JSON.stringify(json));
  }
  return dir;
}

const MODULES = [
  { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
  { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
];

describe('readSentenceTransformerLayout', () => {
  test('bert-tiny-embed (sentence-transformers 6 names): mean pooling, normalised, empty prompts', async () => {
    const layout = await readSentenceTransformerLayout(fixturePath('bert-tiny-embed'));
    assert.equal(layout.pooling, 'mean');
    assert.equal(layout.normalize, true);
    assert.equal(layout.dimension, 32);
    assert.equal(layout.maxSeqLength, undefined);
    assert.deepEqual(layout.prompts, { document: '', query: '' });
    assert.equal(layout.includePrompt, true);
  });

  test('the older layout: pooling_mode_* booleans, max_seq_length, no Normalize, e5-style prompts', async () => {
    const dir = layoutDir({
      'modules.json': MODULES.slice(0, 2),
      '1_Pooling/config.json': { word_embedding_dimension: 384, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false },
      'sentence_bert_config.json': { max_seq_length: 256, do_lower_case: false },
      'config_sentence_transformers.json': { prompts: { query: 'query: ', passage: 'passage: ' }, default_prompt_name: 'query' },
    });
    const layout = await readSentenceTransformerLayout(dir);
    assert.deepEqual([layout.pooling, layout.normalize, layout.dimension, layout.maxSeqLength, layout.defaultPromptName], ['cls', false, 384, 256, 'query']);
    assert.equal(promptFor(layout.prompts, 'query'), 'query: ');
    assert.equal(promptFor(layout.prompts, 'passage'), 'passage: ');
    assert.equal(promptFor({ document: 'doc: ' }, 'passage'), 'doc: ');
    assert.equal(promptFor({}, 'query'), '');
  });

  test('missing modules.json is named', async () => {
    const dir = layoutDir({ 'config.json': {} });
    await assert.rejects(readSentenceTransformerLayout(dir), (e: Error) => e instanceof SentenceTransformersError && e.file === join(dir, 'modules.json') && /modules\.json: not found, so this is not a sentence-transformers model/.test(e.message));
  });

  test('a module Forja does not compute, or modules out of order, are named with modules.json', async () => {
    const dense = layoutDir({ 'modules.json': [...MODULES.slice(0, 2), { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' }] });
    await assert.rejects(readSentenceTransformerLayout(dense), /modules\.json: module 2 has type "sentence_transformers\.models\.Dense", which Forja does not compute/);
    const swapped = layoutDir({ 'modules.json': [MODULES[1], MODULES[0]] });
    await assert.rejects(readSentenceTransformerLayout(swapped), /modules are Pooling → Transformer; Forja computes Transformer → Pooling/);
    await assert.rejects(readSentenceTransformerLayout(layoutDir({ 'modules.json': '{"not": "a list"}' })), /modules\.json: expected a list of modules/);
  });

  test('a missing Pooling config is named', async () => {
    const dir = layoutDir({ 'modules.json': MODULES });
    await assert.rejects(readSentenceTransformerLayout(dir), (e: Error) => e.message.startsWith(join(dir, '1_Pooling', 'config.json')) && /not found/.test(e.message));
  });

  test('prompts that include_prompt false would leave out of the pool are read as such', async () => {
    const dir = layoutDir({ 'modules.json': MODULES.slice(0, 2), '1_Pooling/config.json': { pooling_mode: 'mean', include_prompt: false } });
    assert.equal((await readSentenceTransformerLayout(dir)).includePrompt, false);
  });
});

describe('poolingModeOf', () => {
  test('new-style names, a one-element list, and old-style booleans', () => {
    assert.equal(poolingModeOf({ pooling_mode: 'max' }, 'p'), 'max');
    assert.equal(poolingModeOf({ pooling_mode: ['cls'] }, 'p'), 'cls');
    assert.equal(poolingModeOf({ pooling_mode_mean_tokens: true, pooling_mode_cls_token: false }, 'p'), 'mean');
    assert.equal(poolingModeOf({ pooling_mode_max_tokens: true }, 'p'), 'max');
  });

  test('an unknown, unsupported, ambiguous or absent mode is an error naming the file', () => {
    const file = '/m/1_Pooling/config.json';
    assert.throws(() => poolingModeOf({ pooling_mode: 'weightedmean' }, file), (e: Error) => e instanceof SentenceTransformersError && e.message === `${file}: pooling mode "weightedmean" is not supported (supported: mean, cls, max)`);
    assert.throws(() => poolingModeOf({ pooling_mode_lasttoken: true }, file), /\/m\/1_Pooling\/config\.json: pooling mode pooling_mode_lasttoken is not supported/);
    assert.throws(() => poolingModeOf({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: true }, file), /sets several pooling modes \(pooling_mode_cls_token, pooling_mode_mean_tokens\)/);
    assert.throws(() => poolingModeOf({}, file), /names no pooling mode/);
  });
});
