import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadTextModels, modelName, parseModelSpec, releaseTextModels, stopTokenIds } from '../../../src/apps/server/models.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { chatModelDir, CHAT_MODEL } from './helpers.js';

describe('served text models', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'forja-serve-models-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('--model specs split at the first colon; names are the hub id or the directory name', () => {
    assert.deepEqual(parseModelSpec('gpt2'), { model: 'gpt2' });
    assert.deepEqual(parseModelSpec('org/model:adapters/a:b'), { model: 'org/model', adapter: 'adapters/a:b' });
    assert.throws(() => parseModelSpec(':x'), /":x" is not DIR\|ID or DIR\|ID:ADAPTER_DIR/);
    assert.throws(() => parseModelSpec('x:'), /not DIR\|ID/);
    assert.equal(modelName('org/not-a-local-dir'), 'org/not-a-local-dir');
    assert.equal(modelName(fixturePath('gpt2-tiny')), 'gpt2-tiny');
  });

  test('a base and its adapter share one session; the adapter is base:adapter', async () => {
    const a = join(root, 'a');
    mkdirSync(a);
    const dir = chatModelDir(a);
    const models = await loadTextModels([{ model: dir }, { model: dir, adapter: fixturePath('gpt2-tiny-lora') }]);
    try {
      assert.deepEqual(models.map((m) => [m.id, m.parent]), [[CHAT_MODEL, undefined], [`${CHAT_MODEL}:gpt2-tiny-lora`, CHAT_MODEL]]);
      assert.equal(models[0]!.lm.maxPositions, 128);
      assert.deepEqual(stopTokenIds(models[0]!), [50256]);
      assert.ok(models[0]!.tokenizer.chatTemplate?.includes('<|im_start|>'));
    } finally {
      await releaseTextModels(models);
    }
  });

  test('two models with one name, and adapters with --load-in, are refused by name', async () => {
    const b = join(root, 'b');
    const c = join(root, 'c');
    mkdirSync(b);
    mkdirSync(c);
    await assert.rejects(loadTextModels([{ model: chatModelDir(b) }, { model: chatModelDir(c) }]), /two models would both be served as "gpt2-tiny-chat"/);
    await assert.rejects(loadTextModels([{ model: join(b, CHAT_MODEL), adapter: fixturePath('gpt2-tiny-lora') }], { loadIn: '8bit' }), /cannot be combined with loading in 8bit/);
  });
});
