/** saveSentenceEmbedder: the fine-tuned model reloads through loadSentenceEmbedder with identical embeddings. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pairsData } from '../../../../src/models/bert/contrastive/pairs.js';
import { saveSentenceEmbedder } from '../../../../src/models/bert/contrastive/save.js';
import { ContrastiveTask } from '../../../../src/models/bert/contrastive/task.js';
import { loadSentenceEmbedder } from '../../../../src/models/bert/embedder.js';
import { Trainer } from '../../../../src/train/trainer.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const DIR = fixturePath('bert-tiny-embed');
const tmp = mkdtempSync(join(tmpdir(), 'forja-contrastive-save-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const TEXTS = ['cats purr in the sun', 'dogs bark at night', 'proteins fold in cells', 'stars form galaxies', 'short', ''];
const PAIRS = TEXTS.slice(0, 4).map((t, i) => ({ queryId: `q${i}`, passageId: `d${i}`, query: t.split(' ')[0]!, passage: t }));
const maxDiff = (a: Float32Array[], b: Float32Array[]): number => Math.max(...a.map((v, i) => Math.max(...v.map((x, j) => Math.abs(x - b[i]![j]!)))));

describe('saveSentenceEmbedder', () => {
  test('a fine-tuned model saved in the sentence-transformers layout reloads with identical embeddings', async () => {
    const embedder = await loadSentenceEmbedder(DIR, { prefixes: { query: 'query: ', passage: 'passage: ' } });
    const base = await embedder.embed(TEXTS, 'query');
    const task = await ContrastiveTask.create(embedder, pairsData(PAIRS), { batchSize: 4, epochs: 3, learningRate: 2e-3 });
    await new Trainer(task).run();
    await task.release();
    const trained = { query: await embedder.embed(TEXTS, 'query'), passage: await embedder.embed(TEXTS, 'passage') };
    assert.ok(maxDiff(base, trained.query) > 1e-3, 'training changed the embeddings');

    const out = join(tmp, 'tuned');
    await saveSentenceEmbedder(embedder, out);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'modules.json', '1_Pooling/config.json', '2_Normalize/config.json', 'sentence_bert_config.json', 'config_sentence_transformers.json']) {
      assert.ok(existsSync(join(out, f)), `${f} written`);
    }
    const prompts = JSON.parse(readFileSync(join(out, 'config_sentence_transformers.json'), 'utf8')) as { prompts: Record<string, string> };
    assert.deepEqual(prompts.prompts, { document: 'passage: ', query: 'query: ' });

    const reloaded = await loadSentenceEmbedder(out);
    assert.deepEqual([reloaded.pooling, reloaded.normalize, reloaded.maxTokens, reloaded.prefixes], [embedder.pooling, embedder.normalize, embedder.maxTokens, embedder.prefixes]);
    // Same weights, same graph: the same float32 results, bit for bit.
    assert.equal(maxDiff(trained.query, await reloaded.embed(TEXTS, 'query')), 0);
    assert.equal(maxDiff(trained.passage, await reloaded.embed(TEXTS, 'passage')), 0);
    await reloaded.release();

    // Saving again replaces the directory as a whole (a stray file from before is gone).
    writeFileSync(join(out, 'stray.txt'), 'x');
    await saveSentenceEmbedder(embedder, out);
    assert.ok(!existsSync(join(out, 'stray.txt')));
    assert.ok(existsSync(join(out, 'model.safetensors')));
    await embedder.release();
  });

  test('refuses to overwrite the directory the model was loaded from', async () => {
    const embedder = await loadSentenceEmbedder(DIR);
    await assert.rejects(saveSentenceEmbedder(embedder, DIR), /is the directory the model was loaded from/);
    await embedder.release();
  });
});
