/**
 * POST /v1/embeddings against a real server on port 0, through the official openai client and LangChain's
 * OpenAIEmbeddings: bert-tiny-embed's vectors equal sentence-transformers' goldens (float and base64,
 * texts and token ids), clip-tiny's text tower takes token ids, and bad requests get OpenAI's error body.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { OpenAIEmbeddings } from '@langchain/openai';
import { buildServer } from '../../../../src/apps/server/app.js';
import { bertEmbedder, clipEmbedder, loadEmbedder, mediaRoutes, MediaModels, RowCoalescer } from '../../../../src/apps/server/media-models.js';
import { base64Embedding, embeddingInputs } from '../../../../src/apps/server/routes/embeddings.js';
import { loadF32 } from '../../../../src/io/safetensors.js';
import { ClipModel } from '../../../../src/models/clip/clip-model.js';
import { loadSentenceEmbedder } from '../../../../src/models/bert/embedder.js';
import { assertClose } from '../../../helpers/causal-lm.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const BERT = fixturePath('bert-tiny-embed');
const golden = JSON.parse(readFileSync(fixturePath('bert-tiny-embed', 'golden.json'), 'utf8')) as { sentences: string[]; input_ids: number[][]; attention_mask: number[][] };
const unpadded = golden.input_ids.map((row, i) => row.filter((_, j) => golden.attention_mask[i]![j] === 1));
const clipGolden = JSON.parse(readFileSync(fixturePath('clip-tiny', 'golden.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][] };
const clipIds = clipGolden.input_ids.map((row, i) => row.filter((_, j) => clipGolden.attention_mask[i]![j] === 1));
/** sentence-transformers' unit vectors: float32 on both sides (test/models/bert/embedder.test.ts). */
const TOL = 2e-6;
const D = 32;

describe('embeddings: pure parts', () => {
  test('base64 is the little-endian float32 bytes, as OpenAI sends them', () => {
    const v = Float32Array.of(1, -2.5, 0.1);
    const bytes = Buffer.from(base64Embedding(v), 'base64');
    assert.equal(bytes.length, 12);
    assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)], Array.from(v));
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f]);
  });

  test('input shapes: string, strings, one id list, id lists; mixed or empty refused', () => {
    assert.deepEqual(embeddingInputs('hi'), { kind: 'text', texts: ['hi'] });
    assert.deepEqual(embeddingInputs(['a', 'b']), { kind: 'text', texts: ['a', 'b'] });
    assert.deepEqual(embeddingInputs([5, 6]), { kind: 'ids', rows: [[5, 6]] });
    assert.deepEqual(embeddingInputs([[5], [6, 7]]), { kind: 'ids', rows: [[5], [6, 7]] });
    assert.throws(() => embeddingInputs(''), /'input' is an empty string/);
    assert.throws(() => embeddingInputs([]), /empty list/);
    assert.throws(() => embeddingInputs(['a', '']), /'input\[1\]' is an empty string/);
    assert.throws(() => embeddingInputs([[1], []]), /'input\[1\]' is an empty list of token ids/);
    assert.throws(() => embeddingInputs(['a', 1] as unknown as string[]), /mixes kinds/);
    assert.throws(() => embeddingInputs(Array.from({ length: 2049 }, () => 'x')), /2049 entries; at most 2048/);
  });
});

describe('POST /v1/embeddings on a real server', () => {
  let app: FastifyInstance;
  let media: MediaModels;
  let baseURL: string;
  let client: OpenAI;
  let expected: Float32Array;
  let clipExpected: Float32Array;

  before(async () => {
    const bert = await loadEmbedder(BERT);
    media = MediaModels.of({ embedders: [bert, clipEmbedder('clip-tiny', await ClipModel.load(fixturePath('clip-tiny')))] });
    app = await buildServer({ routes: [mediaRoutes(media)] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1`;
    client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
    expected = (await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'))).get('sentence_embeddings')!.data;
    clipExpected = (await loadF32(fixturePath('clip-tiny', 'golden.safetensors'))).get('text_embeds')!.data;
  });
  after(async () => {
    await app.close();
    await media.release();
  });

  const texts = golden.sentences.slice(0, 4);
  const expectedRows = (n: number) => expected.subarray(0, n * D);
  const flat = (rows: ArrayLike<number>[]) => Float32Array.from(rows.flatMap((r) => Array.from(r)));

  test('GET /v1/models lists the embedders', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.deepEqual(ids.sort(), ['bert-tiny-embed', 'clip-tiny']);
  });

  test('openai client, float: the goldens, in order, with usage counting the tokens fed', async () => {
    const r = await client.embeddings.create({ model: 'bert-tiny-embed', input: texts, encoding_format: 'float' });
    assert.equal(r.object, 'list');
    assert.equal(r.model, 'bert-tiny-embed');
    assert.deepEqual(r.data.map((d) => [d.object, d.index, d.embedding.length]), texts.map((_, i) => ['embedding', i, D]));
    assertClose(flat(r.data.map((d) => d.embedding)), expectedRows(4), TOL, 'float embeddings');
    const tokens = unpadded.slice(0, 4).reduce((n, row) => n + row.length, 0);
    assert.deepEqual(r.usage, { prompt_tokens: tokens, total_tokens: tokens });
  });

  test('openai client, base64 (its default, decoded by the client) and explicit base64 strings', async () => {
    const decoded = await client.embeddings.create({ model: 'bert-tiny-embed', input: texts[1]! });
    assertClose(Float32Array.from(decoded.data[0]!.embedding), expected.subarray(D, 2 * D), TOL, 'client-decoded base64');
    const raw = await client.embeddings.create({ model: 'bert-tiny-embed', input: [texts[0]!, texts[2]!], encoding_format: 'base64' });
    const strings = raw.data.map((d) => d.embedding as unknown as string);
    assert.ok(strings.every((s) => typeof s === 'string'));
    const vectors = strings.map((s) => {
      const b = Buffer.from(s, 'base64');
      return Float32Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(i * 4));
    });
    assertClose(flat(vectors), flat([expected.subarray(0, D), expected.subarray(2 * D, 3 * D)]), TOL, 'base64 embeddings');
  });

  test('token ids (without [CLS]/[SEP], which the server adds) give the same vectors as the texts', async () => {
    const ids = unpadded.slice(0, 4).map((row) => row.slice(1, -1));
    const r = await client.embeddings.create({ model: 'bert-tiny-embed', input: ids, encoding_format: 'float' });
    assertClose(flat(r.data.map((d) => d.embedding)), expectedRows(4), TOL, 'id embeddings');
    const one = await client.embeddings.create({ model: 'bert-tiny-embed', input: ids[3]!, encoding_format: 'float' });
    assertClose(Float32Array.from(one.data[0]!.embedding), expected.subarray(3 * D, 4 * D), TOL, 'one id list');
  });

  test('many inputs are batched by length and come back in input order', async () => {
    const many = Array.from({ length: 70 }, (_, i) => texts[i % 4]!);
    const r = await client.embeddings.create({ model: 'bert-tiny-embed', input: many, encoding_format: 'float' });
    assert.equal(r.data.length, 70);
    r.data.forEach((d, i) => assertClose(Float32Array.from(d.embedding), expected.subarray((i % 4) * D, (i % 4 + 1) * D), TOL, `row ${i}`));
  });

  test('clip-tiny (no tokenizer) embeds token ids as CLIPModel.get_text_features, projected and normalised', async () => {
    const r = await client.embeddings.create({ model: 'clip-tiny', input: clipIds, encoding_format: 'float' });
    assertClose(flat(r.data.map((d) => d.embedding)), clipExpected, 1e-4, 'clip text_embeds');
    assert.equal(r.usage.prompt_tokens, clipIds.flat().length);
    await assert.rejects(client.embeddings.create({ model: 'clip-tiny', input: 'a cat' }), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /has no tokenizer, so it embeds token ids only/.test(e.message));
  });

  test('LangChain OpenAIEmbeddings pointed at the server: embedDocuments and embedQuery', async () => {
    const lc = new OpenAIEmbeddings({ model: 'bert-tiny-embed', apiKey: 'unused', configuration: { baseURL }, maxRetries: 0 });
    const docs = await lc.embedDocuments(texts.slice(0, 3));
    assertClose(flat(docs), expectedRows(3), TOL, 'embedDocuments');
    assertClose(Float32Array.from(await lc.embedQuery(texts[3]!)), expected.subarray(3 * D, 4 * D), TOL, 'embedQuery');
  });

  test('bad requests get a 4xx in OpenAI error format, and the server keeps serving', async () => {
    const post = (body: unknown) => fetch(`${baseURL}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const cases: [unknown, number, string | null, RegExp][] = [
      [{ model: 'bert-tiny-embed', input: '' }, 400, 'input', /empty string/],
      [{ model: 'bert-tiny-embed', input: ['a', 3] }, 400, 'input', /./],
      [{ model: 'bert-tiny-embed', input: 'a', dimensions: 16 }, 400, 'dimensions', /makes 32-dimensional embeddings and cannot shorten them/],
      [{ model: 'bert-tiny-embed', input: [[1, 99999]] }, 400, 'input[0][1]', /is 99999; model `bert-tiny-embed`'s token ids are 0-1499/],
      [{ model: 'bert-tiny-embed', input: 'word '.repeat(300) }, 400, 'input[0]', /is 602 tokens; model `bert-tiny-embed` reads at most 128/],
      [{ model: 'bert-tiny-embed', input: 'a', encoding_format: 'int8' }, 400, 'encoding_format', /must be one of "float", "base64"/],
      [{ model: 'bert-tiny-embed', input: 'a', colour: 'red' }, 400, 'colour', /Unrecognized request argument supplied: colour/],
      [{ model: 'nope', input: 'a' }, 404, 'model', /The model `nope` does not exist; models that make embeddings: bert-tiny-embed, clip-tiny/],
      [{ input: 'a' }, 400, 'model', /Missing required parameter: 'model'/],
    ];
    for (const [body, status, param, message] of cases) {
      const res = await post(body);
      const json = (await res.json()) as { error: { message: string; type: string; param: string | null } };
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(json.error.type, 'invalid_request_error');
      assert.equal(json.error.param, param, JSON.stringify(body));
      assert.match(json.error.message, message, JSON.stringify(body));
    }
    const malformed = await fetch(`${baseURL}/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    assert.equal(malformed.status, 400);
    const ok = await client.embeddings.create({ model: 'bert-tiny-embed', input: texts[0]!, encoding_format: 'float' });
    assertClose(Float32Array.from(ok.data[0]!.embedding), expected.subarray(0, D), TOL, 'still serving');
  });
});

test('bertEmbedder over an embedder loaded in-process counts the same tokens as its tokenizer', async () => {
  const e = await loadSentenceEmbedder(BERT);
  try {
    const served = bertEmbedder('x', e);
    const { promptTokens } = await served.embed({ kind: 'text', texts: ['short'] });
    assert.equal(promptTokens, e.tokenize('short').ids.length);
    assert.equal(promptTokens, unpadded[3]!.length);
  } finally {
    await e.release();
  }
});

test('RowCoalescer: requests that arrive while a pass runs share the next one; a failure reaches only its pass', async () => {
  const seen: number[][] = [];
  const c = new RowCoalescer<number>(async (rows) => {
    seen.push(rows);
    await new Promise((r) => setTimeout(r, 5));
    if (rows.includes(-1)) throw new Error('bad row');
    return rows.map((x) => Float32Array.of(x * 10));
  });
  const [a, b, d] = await Promise.all([c.submit([1]), c.submit([2, 3]), c.submit([4])]);
  assert.deepEqual([a, b, d].map((v) => v.map((x) => x[0])), [[10], [20, 30], [40]]);
  assert.deepEqual(seen, [[1], [2, 3, 4]]);
  const results = await Promise.allSettled([c.submit([5]), c.submit([-1]), c.submit([6])]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected'], '-1 and 6 shared the second pass');
  assert.deepEqual(seen.slice(2), [[5], [-1, 6]]);
  assert.deepEqual((await c.submit([7]))[0], Float32Array.of(70));
});

test('concurrent embedding requests are coalesced into fewer model runs, each answer still its own', async () => {
  const e = await loadSentenceEmbedder(BERT);
  try {
    let runs = 0;
    const forward = e.forward.bind(e);
    e.forward = (batch) => {
      runs++;
      return forward(batch);
    };
    const served = bertEmbedder('x', e);
    const answers = await Promise.all(texts4().map((t) => served.embed({ kind: 'text', texts: [t] })));
    assert.ok(runs < 4, `${runs} model runs for 4 requests`);
    const expected = (await loadF32(fixturePath('bert-tiny-embed', 'golden.safetensors'))).get('sentence_embeddings')!.data;
    answers.forEach((a, i) => assertClose(a.vectors[0]!, expected.subarray(i * D, (i + 1) * D), TOL, `request ${i}`));
  } finally {
    await e.release();
  }
});

function texts4(): string[] {
  return golden.sentences.slice(0, 4);
}
