import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixturePath } from '../../../helpers/fixtures.js';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';

const EMBED = fixturePath('bert-tiny-embed');
const RERANK = fixturePath('bert-tiny-cross-encoder');
const tmp = mkdtempSync(join(tmpdir(), 'forja-cli-rag-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const docs = join(tmp, 'docs');
const jsonLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

before(() => {
  mkdirSync(join(docs, 'guide'), { recursive: true });
  // Sections longer than a 64-token chunk, so each chunk sits under one heading path.
  const filler = (topic: string) => Array.from({ length: 6 }, (_, i) => `Sentence ${i} about ${topic} and nothing else.`).join(' ');
  writeFileSync(join(docs, 'guide', 'boiling.md'), `# Water\n\n## Boiling\n\nWater boils at 100 degrees Celsius at sea level. ${filler('heat')}\n\n## Freezing\n\nWater freezes at zero degrees. ${filler('ice')}\n`);
  writeFileSync(join(docs, 'tower.html'), '<html><body><h1>Eiffel Tower</h1><p>The Eiffel Tower in Paris is 330 metres tall.</p></body></html>');
  writeFileSync(join(docs, 'notes.txt'), 'Cats sleep for most of the day.\n\nDogs like long walks.\n');
  writeFileSync(join(docs, 'blob.bin'), Buffer.from([0, 1, 2, 3, 0, 255, 0]));
});

describe('forja rag', () => {
  const store = join(tmp, 'store.sqlite');

  test('ingest: files and folders with an embedder; binary files skipped and named; re-ingest changes nothing', async () => {
    const first = await forja(['rag', 'ingest', docs, '--store', store, '--embed-model', EMBED, '--chunk-size', '64', '--overlap', '8', '--json']);
    assert.equal(first.code, 0, first.stderr);
    const summary = lastJsonLine(first.stdout);
    assert.equal(summary.added, 3);
    assert.equal(summary.skipped, 1);
    assert.match(first.stderr, /skipped .*blob\.bin/);
    const again = lastJsonLine((await forja(['rag', 'ingest', docs, '--store', store, '--embed-model', EMBED, '--json'])).stdout);
    assert.deepEqual([again.added, again.updated, again.unchanged, again.chunks], [0, 0, 3, 0]);
  });

  test('query: bm25 finds the freezing chunk with its headings and offsets; hybrid uses the store\'s own embedder; rerank and filters work', async () => {
    const bm25 = await forja(['rag', 'query', 'when does water freeze', '--store', store, '--mode', 'bm25', '--k', '2', '--json']);
    assert.equal(bm25.code, 0, bm25.stderr);
    const [top] = jsonLines(bm25.stdout);
    assert.equal(top!.docId, join('guide', 'boiling.md'));
    assert.deepEqual(top!.headings, ['Water', 'Freezing']);
    const text = readFileSync(join(docs, 'guide', 'boiling.md'), 'utf8');
    assert.equal(text.slice(top!.start as number, top!.end as number), top!.text);
    assert.match(String(top!.text), /freezes at zero/);
    const hybrid = jsonLines((await forja(['rag', 'query', 'water boils', '--store', store, '--k', '3', '--json'])).stdout);
    assert.ok(hybrid.every((r) => (r.stages as Record<string, unknown>).fused !== undefined), 'hybrid is the default with embeddings');
    const reranked = await forja(['rag', 'query', 'water boils', '--store', store, '--rerank', RERANK, '--k', '2', '--json']);
    assert.equal(reranked.code, 0, reranked.stderr);
    assert.ok(jsonLines(reranked.stdout).every((r) => (r.stages as Record<string, unknown>).rerank !== undefined));
    const filtered = jsonLines((await forja(['rag', 'query', 'water', '--store', store, '--mode', 'bm25', '--path', '**/*.html', '--json'])).stdout);
    assert.ok(filtered.every((r) => String(r.path).endsWith('tower.html')), JSON.stringify(filtered));
    const human = await forja(['rag', 'query', 'Eiffel', '--store', store, '--mode', 'bm25']);
    assert.match(human.stdout, /^1\. \d+\.\d{4} {2}.*tower\.html \[\d+-\d+\]/m);
  });

  test('ask: a causal LM answers from numbered sources (gpt2-tiny, plain prompt); --min-score gives "no relevant source"', async () => {
    const args = ['rag', 'ask', 'How tall is the Eiffel Tower?', '--store', store, '--mode', 'bm25', '--model', fixturePath('gpt2-tiny'), '--k', '2', '--max-new-tokens', '8'];
    const answered = await forja([...args, '--json']);
    assert.equal(answered.code, 0, answered.stderr);
    const r = lastJsonLine(answered.stdout);
    assert.equal(r.outcome, 'answered');
    assert.ok((r.sources as unknown[]).length >= 1);
    assert.ok((r.promptTokens as number) + 8 <= 128);
    const none = lastJsonLine((await forja([...args, '--min-score', '1000', '--json'])).stdout);
    assert.equal(none.outcome, 'no-relevant-source');
    assert.match(String(none.reason), /below the threshold 1000/);
  });

  test('eval: a BEIR dataset in one report, with a TREC run file per mode', async () => {
    const beir = join(tmp, 'beir');
    mkdirSync(join(beir, 'qrels'), { recursive: true });
    const corpus = [
      { _id: 'd1', title: 'Boiling', text: 'Water boils at 100 degrees.' },
      { _id: 'd2', title: 'Towers', text: 'The Eiffel Tower is tall.' },
      { _id: 'd3', title: 'Pets', text: 'Cats sleep a lot.' },
    ];
    writeFileSync(join(beir, 'corpus.jsonl'), corpus.map((d) => JSON.stringify(d)).join('\n') + '\n');
    writeFileSync(join(beir, 'queries.jsonl'), [{ _id: 'q1', text: 'when does water boil' }, { _id: 'q2', text: 'how tall is the tower' }].map((q) => JSON.stringify(q)).join('\n') + '\n');
    writeFileSync(join(beir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n');
    const run = await forja(['rag', 'eval', '--dataset', beir, '--embed-model', EMBED, '--run-file', join(tmp, 'run.trec'), '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = lastJsonLine(run.stdout);
    const modes = report.modes as { mode: string; metrics: Record<string, number> }[];
    assert.deepEqual(modes.map((m) => m.mode), ['bm25', 'dense', 'hybrid']);
    assert.equal(modes[0]!.metrics['NDCG@10'], 1, 'BM25 ranks each relevant document first');
    for (const m of ['bm25', 'dense', 'hybrid']) assert.match(readFileSync(join(tmp, `run.${m}.trec`), 'utf8'), new RegExp(`^q1 Q0 d\\d 1 \\S+ forja-${m}$`, 'm'));
  });

  test('bad input: a corrupt store file is refused and left as it was; dense search on a BM25-only store names the fix; a bad --pages', async () => {
    const corrupt = join(tmp, 'corrupt.sqlite');
    writeFileSync(corrupt, 'this is not a database'.repeat(100));
    const before = statSync(corrupt);
    const res = await forja(['rag', 'query', 'x', '--store', corrupt]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /corrupt\.sqlite/);
    assert.equal(statSync(corrupt).mtimeMs, before.mtimeMs);
    const plain = join(tmp, 'plain.sqlite');
    assert.equal((await forja(['rag', 'ingest', join(docs, 'notes.txt'), '--store', plain])).code, 0);
    const dense = await forja(['rag', 'query', 'cats', '--store', plain, '--mode', 'dense']);
    assert.equal(dense.code, 2);
    assert.match(dense.stderr, /has no embeddings .*--mode bm25.*--embed-model/);
    const pages = await forja(['rag', 'query', 'cats', '--store', plain, '--pages', 'two']);
    assert.equal(pages.code, 2);
    assert.match(pages.stderr, /--pages 'two' is not N, N-M/);
  });
});
