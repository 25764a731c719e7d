import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { FeatureExtractionPipeline } from '../../src/apps/feature-extraction.js';
import { pipeline } from '../../src/apps/pipeline.js';
import { loadF32 } from '../../src/io/safetensors.js';
import { loadSentenceEmbedder } from '../../src/models/bert/embedder.js';
import { assertClose } from '../helpers/causal-lm.js';
import { fixturePath } from '../helpers/fixtures.js';

const DIR = fixturePath('bert-tiny-embed');
const { sentences } = JSON.parse(readFileSync(fixturePath('bert-tiny-embed', 'golden.json'), 'utf8')) as { sentences: string[] };

describe("pipeline('feature-extraction') on bert-tiny-embed", () => {
  let extractor: FeatureExtractionPipeline;
  let expected: Float32Array;
  before(async () => {
    extractor = await pipeline('feature-extraction', DIR, { progress_callback: () => {} });
    expected = (await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'))).get('sentence_embeddings')!.data;
  });
  after(() => extractor.dispose());

  // Float32 graph against sentence-transformers' float32 encode: measured 2.8e-7 (see test/models/bert/embedder.test.ts).
  test('a list gives [n, hidden] sentence embeddings equal to SentenceTransformer.encode', async () => {
    const out = await extractor(sentences);
    assert.equal(extractor.task, 'feature-extraction');
    assert.deepEqual(out.dims, [5, 32]);
    assertClose(out.data, expected, 2e-6, 'sentence_embeddings');
    const rows = out.tolist();
    assert.equal(rows.length, 5);
    assertClose(rows[4]!, expected.subarray(4 * 32), 2e-6, 'the empty sentence');
  });

  test('a string gives one row; pooling and normalize options change the result', async () => {
    const one = await extractor(sentences[1]!);
    assert.deepEqual(one.dims, [1, 32]);
    assertClose(one.data, expected.subarray(32, 64), 2e-6, 'one sentence');
    const raw = await extractor(sentences[1]!, { pooling: 'cls', normalize: false });
    assert.ok(Math.abs(Math.hypot(...raw.data) - 1) > 1e-2, 'unnormalised CLS vector');
    const cls = await extractor(sentences[1]!, { pooling: 'cls' });
    assert.ok(Math.abs(Math.hypot(...cls.data) - 1) < 1e-6);
    assert.ok(Math.max(...cls.data.map((x, i) => Math.abs(x - one.data[i]!))) > 1e-3, 'CLS differs from mean');
  });

  test('options at construction set the defaults; a loaded embedder is accepted', async () => {
    const maxPooled = await pipeline('feature-extraction', DIR, { pooling: 'max', normalize: false, progress_callback: () => {} });
    const embedder = await loadSentenceEmbedder(DIR);
    const reused = await pipeline('feature-extraction', embedder);
    try {
      const [a, b] = await Promise.all([maxPooled(sentences[0]!), extractor(sentences[0]!, { pooling: 'max', normalize: false })]);
      assert.deepEqual(a.data, b.data);
      assert.deepEqual((await reused(sentences)).data, (await extractor(sentences)).data);
      assert.equal(reused.model, embedder);
    } finally {
      await maxPooled.dispose();
      await reused.dispose();
    }
  });

  test('bad input is refused', async () => {
    await assert.rejects(extractor(42 as unknown as string), /input must be a string or a list of strings/);
  });
});
