import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LmSettingsError } from '../../../src/models/lm/settings.js';
import { checkpointTokenizer, resolveTrainingTokenizer } from '../../../src/models/lm/tokenizers.js';
import { fixturePath } from '../../helpers/fixtures.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(10);
const scratch = await mkdtemp(join(tmpdir(), 'forja-lm-tokenizers-'));
after(() => rm(scratch, { recursive: true, force: true }));

describe('resolveTrainingTokenizer', () => {
  test("'char' builds the vocabulary from the text, and its files reproduce it", async () => {
    const t = await resolveTrainingTokenizer('char', TEXT);
    assert.equal(t.kind, 'char');
    assert.equal(t.tokenizer.vocabSize, new Set(TEXT).size);
    assert.deepEqual(Object.keys(t.files).sort(), ['tokenizer.json', 'tokenizer_config.json']);
  });

  test('a tokenizer directory is used as is and its files travel with the checkpoint', async () => {
    const t = await resolveTrainingTokenizer(fixturePath('gpt2-tiny'), TEXT);
    assert.equal(t.kind, 'pretrained');
    assert.equal(t.tokenizer.vocabSize, 50257);
    assert.equal(t.tokenizer.eosTokenId, 50256);
    assert.deepEqual(t.tokenizer.encode('Hello world'), [15496, 995]); // GPT-2's ids, as in every GPT-2 tokenizer test
    assert.deepEqual(Object.keys(t.files).sort(), ['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    const reloaded = await checkpointTokenizer(fixturePath('gpt2-tiny'), 'pretrained');
    assert.deepEqual(reloaded.tokenizer.encode('Hello world'), [15496, 995]);
  });

  test("'gpt2' never downloads: a cache miss names where it looked, and the tokenizer setting", async () => {
    const previous = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = join(scratch, 'empty-cache');
    try {
      await assert.rejects(
        resolveTrainingTokenizer('gpt2', TEXT),
        (err: Error) => err instanceof LmSettingsError && err.setting === 'tokenizer' && /not in the Hugging Face cache \(looked in .*models--gpt2/.test(err.message),
      );
    } finally {
      if (previous === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = previous;
    }
  });

  test('a path that is not a directory is a settings error', async () => {
    await assert.rejects(
      resolveTrainingTokenizer(join(scratch, 'missing'), TEXT),
      (err: Error) => err instanceof LmSettingsError && err.setting === 'tokenizer' && /expected 'char', 'gpt2' or a tokenizer directory/.test(err.message),
    );
  });
});
