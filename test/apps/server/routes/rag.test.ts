/**
 * RAG over a real server on port 0: POST /v1/rag/ask and the `rag:<model>` / `rag` chat models, answered by
 * gpt2-tiny (ChatML template, random weights) on the batching engine over a tiny SQLite store ingested in a
 * temp dir. The answer is what `ask` gives with the same model through the text-generation pipeline; the
 * sources are what retrieval returns, with their ids, paths, headings, offsets and passage text.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { pipeline } from '../../../../src/apps/pipeline.js';
import { mediaRoutes, MediaModels, openRagStore } from '../../../../src/apps/server/media-models.js';
import { chunkFilter, citationLines, ragModelNames } from '../../../../src/apps/server/routes/rag.js';
import { ask } from '../../../../src/rag/answer/ask.js';
import { ingest } from '../../../../src/rag/ingest.js';
import { retrieve } from '../../../../src/rag/retrieve.js';
import { createStore } from '../../../../src/rag/store/open.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { CHAT_MODEL, chatModelDir, startServer, type TestServer } from '../helpers.js';

const QUESTION = 'How tall is the tower?';
const MAX_TOKENS = 12;
/** gpt2-tiny has 128 positions: ask's default instructions alone take most of them. */
const INSTRUCTIONS = 'Cite [n].';

function corpus(root: string): string {
  const docs = join(root, 'docs');
  mkdirSync(docs);
  writeFileSync(join(docs, 'tower.md'), '# Paris\n\n## The tower\n\nThe tower is 330 metres tall and was finished in 1889.\n');
  writeFileSync(join(docs, 'bridge.md'), '# London\n\n## The bridge\n\nThe bridge opened in 1894 and crosses the river.\n');
  writeFileSync(join(docs, 'notes.txt'), 'Towers and bridges are tall structures built by engineers.\n');
  return docs;
}

describe('rag: pure parts', () => {
  test('filters map to the store filter; pages must run forward', () => {
    assert.deepEqual(chunkFilter({ path: '**/*.md', document_ids: ['a'], pages: { from: 2 } }), { pathGlob: '**/*.md', docIds: ['a'], pages: { from: 2 } });
    assert.equal(chunkFilter({}), undefined);
    assert.throws(() => chunkFilter({ pages: { from: 5, to: 2 } }), /'filters.pages' runs from 5 to 2/);
  });

  test('rag model names: rag:<model> for each, and plain rag only with one text model', () => {
    const m = (id: string) => ({ id }) as Parameters<typeof ragModelNames>[0][number];
    assert.deepEqual([...ragModelNames([m('a')]).keys()], ['rag:a', 'rag']);
    assert.deepEqual([...ragModelNames([m('a'), m('b')]).keys()], ['rag:a', 'rag:b']);
  });

  test('citation lines name the title or path, page and headings', () => {
    const s = { number: 2, chunkId: 1, docId: 'd', path: '/x/guide.pdf', page: 3, start: 0, end: 5, headings: ['Install', 'Linux'], score: 1 };
    assert.equal(citationLines([s]), '\n\nSources:\n[2] /x/guide.pdf p. 3 › Install › Linux');
    assert.equal(citationLines([]), '');
  });
});

describe('RAG on a real server', () => {
  let root: string;
  let server: TestServer;
  let media: MediaModels;
  let client: OpenAI;
  let storePath: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'forja-serve-rag-'));
    storePath = join(root, 'store.db');
    const store = await createStore(storePath);
    await ingest(store, corpus(root));
    await store.close();
    media = await MediaModels.load({ rag: storePath });
    server = await startServer({ routes: [mediaRoutes(media)] });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await server?.close();
    await media?.release();
    rmSync(root, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown) => fetch(`${server.url}/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test('GET /v1/models lists the rag models beside the text model', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.deepEqual(ids.sort(), [CHAT_MODEL, 'rag', `rag:${CHAT_MODEL}`].sort());
  });

  test('/v1/rag/ask: the answer ask() gives with the same model, and the retrieved sources with their passages', async () => {
    const res = await post('/rag/ask', { question: QUESTION, k: 3, max_tokens: MAX_TOKENS, instructions: INSTRUCTIONS });
    assert.equal(res.status, 200);
    const r = (await res.json()) as { object: string; model: string; outcome: string; answer: string; sources: Record<string, unknown>[]; cited: number[]; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } };
    assert.equal(r.object, 'rag.answer');
    assert.equal(r.model, CHAT_MODEL);
    assert.equal(r.outcome, 'answered', JSON.stringify(r));

    const store = await createStore(storePath);
    const gen = await pipeline('text-generation', chatModelDir(mkdtempSync(join(root, 'again-'))));
    try {
      const retrieved = await retrieve(store, QUESTION, { mode: 'bm25', k: 3 });
      const expected = await ask(QUESTION, { retrieve: async () => retrieved, generator: gen, chat: true, maxNewTokens: MAX_TOKENS, instructions: INSTRUCTIONS });
      assert.equal(r.answer, expected.answer, 'greedy on the engine = greedy through the pipeline');
      assert.equal(r.usage.prompt_tokens, expected.promptTokens);
      assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= MAX_TOKENS);
      assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
      assert.deepEqual(r.cited, expected.cited.map((s) => s.number));
      assert.deepEqual(
        r.sources,
        expected.sources.map((s, i) => ({ number: s.number, document_id: s.docId, path: s.path, ...(s.title !== undefined && { title: s.title }), headings: s.headings, start: s.start, end: s.end, score: s.score, text: retrieved[i]!.chunk.text, cited: expected.cited.includes(s) })),
      );
      const tower = r.sources.find((s) => s.document_id === 'tower.md')!;
      assert.deepEqual(tower.headings, ['Paris'], 'the chunk opens with the document heading');
      assert.match(tower.text as string, /330 metres/);
      assert.equal(r.sources[0]!.document_id, 'tower.md', 'BM25 ranks the tower first');
    } finally {
      await gen.dispose();
      await store.close();
    }
  });

  test('filters: document ids restrict the sources; a page range on pageless documents finds nothing', async () => {
    const docs = async (filters?: object) => {
      const r = (await (await post('/rag/ask', { question: 'tower bridge', ...(filters && { filters }), max_tokens: 4, instructions: INSTRUCTIONS })).json()) as { sources: { document_id: string }[] };
      return [...new Set(r.sources.map((s) => s.document_id))].sort();
    };
    // gpt2-tiny's 128 positions hold two of the three sources retrieval finds.
    assert.deepEqual(await docs(), ['bridge.md', 'notes.txt']);
    assert.deepEqual(await docs({ document_ids: ['bridge.md'] }), ['bridge.md']);
    assert.deepEqual(await docs({ path: '**/*.md' }), ['bridge.md', 'tower.md']);
    const none = (await (await post('/rag/ask', { question: QUESTION, filters: { pages: { from: 1, to: 2 } } })).json()) as { outcome: string; reason: string; sources: unknown[] };
    assert.deepEqual([none.outcome, none.reason, none.sources], ['no-relevant-source', 'retrieval found nothing', []]);
  });

  test('chat.completions on rag:<model>: the grounded answer plus its cited sources, streamed the same as not', async () => {
    const messages = [{ role: 'system' as const, content: INSTRUCTIONS }, { role: 'user' as const, content: QUESTION }];
    const direct = (await (await post('/rag/ask', { question: QUESTION, max_tokens: MAX_TOKENS, instructions: INSTRUCTIONS })).json()) as { answer: string; cited: number[]; sources: { number: number; path: string; headings: string[] }[] };
    const r = await client.chat.completions.create({ model: `rag:${CHAT_MODEL}`, messages, max_tokens: MAX_TOKENS });
    const content = r.choices[0]!.message.content!;
    assert.ok(content.startsWith(direct.answer), 'the answer first');
    assert.equal(content.length > direct.answer.length, direct.cited.length > 0, 'then the sources when it cites any');
    assert.equal(r.model, `rag:${CHAT_MODEL}`);
    assert.ok(Array.isArray((r as unknown as { sources: unknown[] }).sources));
    assert.ok(r.usage!.prompt_tokens > 0);
    const stream = await client.chat.completions.create({ model: 'rag', messages, max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true } });
    let streamed = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta.content ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(streamed, content);
    assert.equal(finish, r.choices[0]!.finish_reason);
    assert.equal(r.choices[0]!.finish_reason, r.usage!.completion_tokens === MAX_TOKENS ? 'length' : 'stop');
    assert.deepEqual(usage, r.usage);
    // A plain chat request on the text model still goes to the chat route.
    const plain = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 3 });
    assert.equal(plain.model, CHAT_MODEL);
    assert.equal((plain as unknown as { sources?: unknown }).sources, undefined);
  });

  test('bad requests get OpenAI errors and the server keeps serving', async () => {
    const cases: [string, unknown, number, string | null, RegExp][] = [
      ['/rag/ask', { question: '' }, 400, 'question', /./],
      ['/rag/ask', { question: '   ' }, 400, 'question', /the question is empty/],
      ['/rag/ask', { question: 'q', k: 0 }, 400, 'k', /./],
      ['/rag/ask', { question: 'q', k: 51 }, 400, 'k', /./],
      ['/rag/ask', { question: 'q', mode: 'dense' }, 400, 'mode', /needs embeddings, and the store .* was built without an embedding model/],
      ['/rag/ask', { question: 'q', model: 'gpt-4' }, 404, 'model', /does not exist/],
      ['/rag/ask', { question: 'q', filters: { pages: { from: 3, to: 1 } } }, 400, 'filters.pages', /from 3 to 1/],
      ['/rag/ask', { question: 'q', store: '/etc/passwd' }, 400, 'store', /Unrecognized request argument/],
      ['/chat/completions', { model: 'rag', messages: [{ role: 'user', content: 'q' }], n: 2 }, 400, 'n', /one grounded answer/],
      ['/chat/completions', { model: 'rag', messages: [{ role: 'system', content: 'hi' }] }, 400, 'messages', /last user message/],
    ];
    for (const [path, body, status, param, message] of cases) {
      const res = await post(path, body);
      const json = (await res.json()) as { error: { message: string; param: string | null } };
      assert.equal(res.status, status, `${path} ${JSON.stringify(body)}: ${json.error.message}`);
      assert.equal(json.error.param, param, `${path} ${JSON.stringify(body)}`);
      assert.match(json.error.message, message);
    }
    assert.equal((await post('/rag/ask', { question: QUESTION, max_tokens: 2, instructions: INSTRUCTIONS })).status, 200);
  });
});

test('a store with embeddings opens with its own embedding model (served too) and answers hybrid queries', async () => {
  const root = mkdtempSync(join(tmpdir(), 'forja-serve-rag-dense-'));
  try {
    const { loadSentenceEmbedder } = await import('../../../../src/models/bert/embedder.js');
    const embedder = await loadSentenceEmbedder(fixturePath('bert-tiny-embed'));
    const storePath = join(root, 'dense.db');
    const store = await createStore(storePath);
    await ingest(store, corpus(root), { embedder });
    await store.close();
    await embedder.release();
    const rag = await openRagStore(storePath);
    try {
      assert.equal(rag.embedder?.id, 'bert-tiny-embed');
      const { retrieveOptions } = await import('../../../../src/apps/server/routes/rag.js');
      const options = retrieveOptions(rag, {});
      assert.equal(options.mode, 'hybrid');
      const results = await retrieve(rag.store, QUESTION, { ...options, mode: 'dense' });
      assert.equal(results.length, 3);
    } finally {
      await rag.embedder?.release();
      await rag.store.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
