/** BEIR pairs (text as ingestion builds it, errors with file and line) and false-negative-free batches. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { epochBatches, loadBeirPairs, pairsData, type ContrastiveData } from '../../../../src/models/bert/contrastive/pairs.js';
import { DatasetError } from '../../../../src/rag/eval/errors.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function beirDir(files: { corpus?: string[]; queries?: string[]; train?: string | null }): string {
  const dir = mkdtempSync(join(tmpdir(), 'forja-contrastive-pairs-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'qrels'));
  const corpus = files.corpus ?? [
    JSON.stringify({ _id: 'd1', title: 'Cats', text: 'Cats purr.' }),
    JSON.stringify({ _id: 'd2', title: '', text: 'Dogs bark.' }),
    JSON.stringify({ _id: 'd3', title: 'Birds', text: 'Birds sing.' }),
  ];
  const queries = files.queries ?? [JSON.stringify({ _id: 'q1', text: 'do cats purr' }), JSON.stringify({ _id: 'q2', text: 'what barks' })];
  writeFileSync(join(dir, 'corpus.jsonl'), corpus.join('\n') + '\n');
  writeFileSync(join(dir, 'queries.jsonl'), queries.join('\n') + '\n');
  const train = files.train === undefined ? 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\t0\nq2\td2\t2\n' : files.train;
  if (train !== null) writeFileSync(join(dir, 'qrels', 'train.tsv'), train);
  return dir;
}

describe('loadBeirPairs', () => {
  test('positives are the judgments scored ≥ 1, passages are the text ingestion indexes', async () => {
    const { pairs, relevant } = await loadBeirPairs(beirDir({}));
    assert.deepEqual(pairs, [
      { queryId: 'q1', passageId: 'd1', query: 'do cats purr', passage: 'Cats\n\nCats purr.' },
      { queryId: 'q2', passageId: 'd2', query: 'what barks', passage: 'Dogs bark.' },
    ]);
    assert.deepEqual([...relevant.get('q1')!], ['d1']);
  });

  test('no train qrels: a DatasetError naming the file', async () => {
    const dir = beirDir({ train: null });
    await assert.rejects(loadBeirPairs(dir), (e: unknown) => e instanceof DatasetError && e.path === join(dir, 'qrels', 'train.tsv') && /no such file/.test(e.message));
  });

  test('qrels without a positive: named', async () => {
    const dir = beirDir({ train: 'query-id\tcorpus-id\tscore\nq1\td1\t0\n' });
    await assert.rejects(loadBeirPairs(dir), /train\.tsv: holds no judgment with a score of at least 1/);
  });

  test('a document missing from the corpus: qrels file and line', async () => {
    const dir = beirDir({ train: 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td9\t1\n' });
    await assert.rejects(loadBeirPairs(dir), (e: unknown) => {
      assert.ok(e instanceof DatasetError);
      assert.equal(e.line, 3);
      assert.equal(e.message, `${join(dir, 'qrels', 'train.tsv')}:3: document d9 (judged for query q2) is not in ${join(dir, 'corpus.jsonl')}`);
      return true;
    });
  });

  test('a query missing from queries.jsonl: qrels file and line', async () => {
    const dir = beirDir({ train: 'query-id\tcorpus-id\tscore\nq1\td1\t1\n\nq7\td2\t1\n' });
    await assert.rejects(loadBeirPairs(dir), (e: unknown) => e instanceof DatasetError && e.line === 4 && /query q7 is not in .*queries\.jsonl/.test(e.message));
  });

  test('a malformed qrels line: file and line', async () => {
    const dir = beirDir({ train: 'query-id\tcorpus-id\tscore\nq1\td1\n' });
    await assert.rejects(loadBeirPairs(dir), (e: unknown) => e instanceof DatasetError && e.line === 2);
  });

  test('an unreadable corpus is an error, not an empty set', async () => {
    const dir = beirDir({});
    rmSync(join(dir, 'corpus.jsonl'));
    await assert.rejects(loadBeirPairs(dir), (e: unknown) => e instanceof DatasetError && e.path === join(dir, 'corpus.jsonl'));
  });
});

describe('epochBatches', () => {
  // 12 queries; q0 and q1 share passage p0, q2 has three positives, and passages p8/p9 have the same text.
  const pairs = [
    ['q0', 'p0'], ['q1', 'p0'], ['q2', 'p1'], ['q2', 'p2'], ['q2', 'p3'], ['q3', 'p4'], ['q4', 'p5'], ['q5', 'p6'],
    ['q6', 'p7'], ['q7', 'p8'], ['q8', 'p9'], ['q9', 'p10'], ['q10', 'p11'], ['q11', 'p12'],
  ].map(([q, p]) => ({ queryId: q!, passageId: p!, query: `query ${q}`, passage: p === 'p9' ? 'text of p8' : `text of ${p}` }));
  const data: ContrastiveData = pairsData(pairs);

  const check = (batches: number[][], d: ContrastiveData, size: number): void => {
    assert.deepEqual(batches.flat().sort((a, b) => a - b), d.pairs.map((_, i) => i), 'every pair once');
    for (const b of batches) {
      assert.ok(b.length >= 1 && b.length <= size);
      const texts = b.map((i) => d.pairs[i]!.passage);
      assert.equal(new Set(texts).size, texts.length, `duplicate passage text in ${JSON.stringify(b)}`);
      for (const i of b) {
        for (const j of b) {
          if (i !== j) assert.ok(!d.relevant.get(d.pairs[i]!.queryId)!.has(d.pairs[j]!.passageId), `false negative: ${d.pairs[j]!.passageId} is relevant to ${d.pairs[i]!.queryId}`);
        }
      }
    }
  };

  test('no batch holds a passage twice or a passage relevant to another of its queries', () => {
    for (let epoch = 0; epoch < 20; epoch++) check(epochBatches(data, 4, 3, epoch), data, 4);
    check(epochBatches(data, 32, 0, 0), data, 32);
  });

  test('a batch the size of the data must still split the conflicting pairs', () => {
    const batches = epochBatches(data, pairs.length, 1, 0);
    assert.ok(batches.length >= 3, `q2's three positives need three batches, got ${batches.length}`);
  });

  test('seeded: the same (seed, epoch) gives the same batches, another epoch another order', () => {
    assert.deepEqual(epochBatches(data, 4, 5, 2), epochBatches(data, 4, 5, 2));
    assert.notDeepEqual(epochBatches(data, 4, 5, 2), epochBatches(data, 4, 5, 3));
  });

  test('batchSize must be a positive integer', () => {
    assert.throws(() => epochBatches(data, 0, 0, 0), /batchSize must be a positive integer, received 0/);
  });
});
