/** BEIR training pairs: text as ingestion builds it, errors with file and line. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DatasetError } from '../../../src/rag/eval/errors.js';
import { loadBeirPairs } from '../../../src/rag/eval/training-pairs.js';

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

