/**
 * Parity with sentence-transformers on bert-tiny-embed. Tolerances: both sides are float32; ORT's
 * fused kernels sum in another order than torch, so each op may differ by a few ulp, and over the
 * embeddings, two layers and their LayerNorms that grows to ~3e-6 on hidden states of magnitude
 * ~1-4 (measured 2.7e-6, as the fixture's own independent float32 BERT: 2e-6). 1e-5 leaves room
 * for other thread counts; a wrong op is off by >1e-2. Unit-norm embeddings shrink the error by
 * ~1/‖pooled‖ (measured 2.8e-7), so they get 2e-6.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadF32 } from '../../../src/io/safetensors.js';
import { loadSentenceEmbedder, type SentenceEmbedder } from '../../../src/models/bert/embedder.js';
import { padBatch } from '../../../src/models/bert/encoding.js';
import { SentenceTransformersError } from '../../../src/models/bert/sentence-transformers.js';
import { ConfigError } from '../../../src/models/transformer/config.js';
import { assertClose } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { fixtureCopy } from './fixture-copy.js';

const DIR = fixturePath('bert-tiny-embed');
const HIDDEN_TOL = 1e-5;
const EMBED_TOL = 2e-6;

interface Golden {
  sentences: string[];
  input_ids: number[][];
  attention_mask: number[][];
}
const golden = JSON.parse(readFileSync(fixturePath('bert-tiny-embed', 'golden.json'), 'utf8')) as Golden;
const unpadded = golden.input_ids.map((row, i) => row.filter((_, j) => golden.attention_mask[i]![j] === 1));
const H = 32;
const T = golden.input_ids[0]!.length;

describe('SentenceEmbedder on bert-tiny-embed', () => {
  let embedder: SentenceEmbedder;
  let tensors: Map<string, { shape: number[]; data: Float32Array }>;
  before(async () => {
    embedder = await loadSentenceEmbedder(DIR);
    tensors = await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'));
  });
  after(() => embedder.release());

  test('reads the layout: mean pooling, normalised, 32 wide, tokenizer limit 128', () => {
    assert.deepEqual([embedder.pooling, embedder.normalize, embedder.dimension, embedder.maxTokens], ['mean', true, 32, 128]);
  });

  test("tokenizer ids equal transformers' input_ids, the empty sentence included", () => {
    assert.deepEqual(unpadded.at(-1), [2, 3]);
    assert.deepEqual(golden.sentences.map((s) => embedder.tokenize(s).ids), unpadded);
    assert.deepEqual(golden.sentences.map((s) => embedder.countTokens(s)), unpadded.map((r) => r.length - 2));
  });

  test('last_hidden_state and sentence_embeddings of the golden padded batch', async () => {
    const big = (rows: number[][]) => BigInt64Array.from(rows.flat(), BigInt);
    const batch = { rows: 5, length: T, inputIds: big(golden.input_ids), attentionMask: big(golden.attention_mask), tokenTypeIds: new BigInt64Array(5 * T) };
    const out = await embedder.forward(batch);
    assertClose(out.lastHiddenState, tensors.get('last_hidden_state')!.data, HIDDEN_TOL, 'last_hidden_state');
    assertClose(out.sentenceEmbedding, tensors.get('sentence_embeddings')!.data, EMBED_TOL, 'sentence_embeddings');
  });

  test('embed() equals SentenceTransformer.encode, in input order, at any batch size', async () => {
    const expected = tensors.get('sentence_embeddings')!.data;
    for (const batchSize of [32, 2, 1]) {
      const e = batchSize === 32 ? embedder : await loadSentenceEmbedder(DIR, { batchSize });
      try {
        const vectors = await e.embed(golden.sentences);
        assert.equal(vectors.length, 5);
        vectors.forEach((v, i) => assertClose(v, expected.subarray(i * H, (i + 1) * H), EMBED_TOL, `batch ${batchSize}, sentence ${i}`));
      } finally {
        if (e !== embedder) await e.release();
      }
    }
    assert.deepEqual(await embedder.embed([]), []);
    // Calls that overlap share one session and still get their own rows.
    const [first, rest] = await Promise.all([embedder.embed(golden.sentences.slice(0, 3)), embedder.embed(golden.sentences.slice(3))]);
    [...first, ...rest].forEach((v, i) => assertClose(v, expected.subarray(i * H, (i + 1) * H), EMBED_TOL, `concurrent, sentence ${i}`));
  });

  test('cls and max pooling, and normalisation off, match the same math on the golden hidden states', async () => {
    const hidden = tensors.get('last_hidden_state')!.data;
    const host = (i: number, mode: 'cls' | 'max'): Float32Array => {
      const v = new Float32Array(H).fill(mode === 'max' ? -Infinity : 0);
      for (let t = 0; t < T; t++) {
        if (!golden.attention_mask[i]![t]) continue;
        for (let d = 0; d < H; d++) v[d] = mode === 'cls' ? (t === 0 ? hidden[(i * T + t) * H + d]! : v[d]!) : Math.max(v[d]!, hidden[(i * T + t) * H + d]!);
      }
      return v;
    };
    for (const mode of ['cls', 'max'] as const) {
      const vectors = await embedder.embed(golden.sentences, undefined, { pooling: mode, normalize: false });
      vectors.forEach((v, i) => assertClose(v, host(i, mode), HIDDEN_TOL, `${mode} pooling, sentence ${i}`));
    }
    const unnormalised = await embedder.embed(golden.sentences, undefined, { normalize: false });
    assert.ok(Math.abs(Math.hypot(...unnormalised[0]!) - 1) > 1e-2, 'mean pooling without Normalize is not unit norm');
    const normalised = await embedder.embed(golden.sentences);
    assert.ok(Math.abs(Math.hypot(...normalised[0]!) - 1) < 1e-6);
  });

  test('padBatch over tokenize() gives the golden padded ids', () => {
    const b = padBatch(golden.sentences.map((s) => embedder.tokenize(s)), embedder.padId);
    assert.deepEqual([...b.inputIds].map(Number), golden.input_ids.flat());
    assert.deepEqual([...b.attentionMask].map(Number), golden.attention_mask.flat());
  });
});

describe('loadSentenceEmbedder options', () => {
  test("prompts from config_sentence_transformers.json, overridden by prefixes (e5's query: / passage:)", async () => {
    const copy = fixtureCopy('bert-tiny-embed', { 'config_sentence_transformers.json': { prompts: { query: 'short ', document: 'data ' } } });
    const fromConfig = await loadSentenceEmbedder(copy.dir);
    const overridden = await loadSentenceEmbedder(copy.dir, { prefixes: { query: 'query: ', passage: 'passage: ' } });
    const plain = await loadSentenceEmbedder(DIR);
    try {
      assert.deepEqual(fromConfig.prefixes, { query: 'short ', passage: 'data ', none: '' });
      assert.deepEqual(fromConfig.tokenize('An autoencoder', 'query').ids, plain.tokenize('short An autoencoder').ids);
      assert.deepEqual(fromConfig.tokenize('An autoencoder', 'passage').ids, plain.tokenize('data An autoencoder').ids);
      assert.deepEqual(overridden.tokenize('x', 'query').ids, plain.tokenize('query: x').ids);
      const [q] = await fromConfig.embed(['An autoencoder'], 'query');
      const [same] = await plain.embed(['short An autoencoder']);
      assertClose(q!, same!, 1e-7, 'query embedding = embedding of the prefixed text');
    } finally {
      await Promise.all([fromConfig.release(), overridden.release(), plain.release()]);
      copy.cleanup();
    }
  });

  test('truncates to maxTokens keeping [SEP] last, and reports it', async () => {
    const cut: [number, number, number][] = [];
    const e = await loadSentenceEmbedder(DIR, { maxTokens: 6, onTruncate: (i, n, max) => cut.push([i, n, max]) });
    try {
      const long = golden.sentences[2]!;
      assert.deepEqual(e.tokenize(long).ids, [...unpadded[2]!.slice(0, 5), 3]);
      const [a, b] = await e.embed(['short', long]);
      assert.equal(a!.length, 32);
      assert.deepEqual(cut, [[1, 20, 6]]);
      const ids = [...unpadded[2]!.slice(0, 5), 3];
      const { sentenceEmbedding } = await e.forward(padBatch([{ ids, typeIds: ids.map(() => 0) }], e.padId));
      assertClose(b!, sentenceEmbedding, 1e-7, 'truncated = the embedding of its first tokens');
    } finally {
      await e.release();
    }
  });

  test('max_seq_length from sentence_bert_config.json; maxTokens out of range is refused', async () => {
    const copy = fixtureCopy('bert-tiny-embed', { 'sentence_bert_config.json': { max_seq_length: 16 } });
    try {
      const e = await loadSentenceEmbedder(copy.dir);
      assert.equal(e.maxTokens, 16);
      await e.release();
      await assert.rejects(loadSentenceEmbedder(copy.dir, { maxTokens: 500 }), (err: Error) => err instanceof ConfigError && /maxTokens must be an integer from 3 to the model's 128 positions, received 500/.test(err.message));
    } finally {
      copy.cleanup();
    }
  });

  test('a plain BERT directory without modules.json: refused naming the file, or loaded with a pooling mode', async () => {
    const copy = fixtureCopy('bert-tiny-embed', { 'modules.json': null });
    try {
      await assert.rejects(loadSentenceEmbedder(copy.dir), (e: Error) => e instanceof SentenceTransformersError && e.message.includes(`${copy.dir}/modules.json: not found`));
      const e = await loadSentenceEmbedder(copy.dir, { pooling: 'mean', normalize: true });
      try {
        const [v] = await e.embed([golden.sentences[0]!]);
        const expected = (await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'))).get('sentence_embeddings')!.data;
        assertClose(v!, expected.subarray(0, H), EMBED_TOL, 'plain BERT with mean pooling');
      } finally {
        await e.release();
      }
    } finally {
      copy.cleanup();
    }
  });

  test('an unknown pooling mode names 1_Pooling/config.json; a non-BERT config names its architecture', async () => {
    const pooling = fixtureCopy('bert-tiny-embed', { '1_Pooling/config.json': { embedding_dimension: 32, pooling_mode: 'lasttoken' } });
    const gpt2 = fixtureCopy('bert-tiny-embed', { 'config.json': readFileSync(fixturePath('gpt2-tiny', 'config.json'), 'utf8') });
    try {
      await assert.rejects(loadSentenceEmbedder(pooling.dir), (e: Error) => e.message === `${pooling.dir}/1_Pooling/config.json: pooling mode "lasttoken" is not supported (supported: mean, cls, max)`);
      await assert.rejects(loadSentenceEmbedder(gpt2.dir), (e: Error) => e instanceof ConfigError && e.message.includes(`${gpt2.dir}/config.json: architecture "GPT2LMHeadModel" (model_type "gpt2") is not BERT`));
    } finally {
      pooling.cleanup();
      gpt2.cleanup();
    }
  });

  test('embedding_dimension that differs from hidden_size is refused', async () => {
    const copy = fixtureCopy('bert-tiny-embed', { '1_Pooling/config.json': { embedding_dimension: 64, pooling_mode: 'mean' } });
    try {
      await assert.rejects(loadSentenceEmbedder(copy.dir), /1_Pooling\/config\.json: embedding_dimension 64 differs from the model's hidden_size 32/);
    } finally {
      copy.cleanup();
    }
  });
});

describe('from the hub', () => {
  /** A static file server for fixtures at /forja-test/<fixture>/resolve/main/<path>, counting requests. */
  async function hub(fn: (endpoint: string, requests: string[]) => Promise<void>): Promise<void> {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      const match = /^\/forja-test\/([\w-]+)\/resolve\/main\/([\w./-]+)$/.exec(req.url ?? '');
      requests.push(req.url ?? '');
      const path = match && !match[2]!.includes('..') ? fixturePath(match[1]!, match[2]!) : undefined;
      if (!path || !existsSync(path) || statSync(path).isDirectory()) return void res.writeHead(404).end();
      const body = readFileSync(path);
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  test('fetches modules.json and the module configs it names, then the weights', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'forja-bert-hub-'));
    try {
      await hub(async (endpoint, requests) => {
        const e = await loadSentenceEmbedder('forja-test/bert-tiny-embed', { endpoint, cacheDir, offline: false });
        try {
          assert.deepEqual([e.pooling, e.normalize], ['mean', true]);
          assert.ok(requests.some((r) => r.endsWith('/1_Pooling/config.json')) && requests.some((r) => r.endsWith('/modules.json')));
          const expected = (await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'))).get('sentence_embeddings')!.data;
          const vectors = await e.embed(golden.sentences);
          vectors.forEach((v, i) => assertClose(v, expected.subarray(i * H, (i + 1) * H), EMBED_TOL, `sentence ${i}`));
        } finally {
          await e.release();
        }
        // The cache now answers offline.
        const cached = await loadSentenceEmbedder('forja-test/bert-tiny-embed', { cacheDir, offline: true });
        await cached.release();
      });
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('a hub model that is not BERT is refused before its weights are downloaded', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'forja-bert-hub-'));
    try {
      await hub(async (endpoint, requests) => {
        await assert.rejects(loadSentenceEmbedder('forja-test/gpt2-tiny', { endpoint, cacheDir, offline: false, pooling: 'mean' }), /architecture "GPT2LMHeadModel" \(model_type "gpt2"\) is not BERT/);
        assert.ok(requests.some((r) => r.endsWith('/config.json')));
        assert.ok(!requests.some((r) => r.endsWith('/model.safetensors')), requests.join(', '));
      });
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
