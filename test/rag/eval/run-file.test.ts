import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFileError } from '../../../src/rag/eval/errors.js';
import type { Run } from '../../../src/rag/eval/metrics.js';
import { formatTrecRun, readTrecRun, writeTrecRun } from '../../../src/rag/eval/run-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forja-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const RUN: Run = new Map([
  ['q1', [{ docId: 'd9', score: 12.5 }, { docId: 'd3', score: 0.125 }]],
  ['q2', [{ docId: 'd1', score: -1.5e-7 }]],
  ['q3', []],
]);

describe('TREC run files', () => {
  test('one line per document: qid Q0 docid rank score tag', () => {
    assert.equal(formatTrecRun(RUN, 'forja-bm25'), 'q1 Q0 d9 1 12.5 forja-bm25\nq1 Q0 d3 2 0.125 forja-bm25\nq2 Q0 d1 1 -1.5e-7 forja-bm25\n');
    assert.equal(formatTrecRun(new Map(), 'x'), '');
  });

  test('written atomically and read back with the same scores', async () => {
    const path = join(dir, 'sub', 'run.trec');
    await writeTrecRun(path, RUN, 'tag');
    assert.equal(await readFile(path, 'utf8'), formatTrecRun(RUN, 'tag'));
    assert.deepEqual(await readdir(join(dir, 'sub')), ['run.trec'], 'no temporary file is left');
    const back = await readTrecRun(path);
    assert.deepEqual([...back], [...RUN].filter(([, r]) => r.length > 0));
  });

  test('ids with whitespace, bad tags and non-finite scores are refused before anything is written', async () => {
    const path = join(dir, 'run.trec');
    const bad = (run: Run, tag: string, reason: RegExp) => assert.rejects(writeTrecRun(path, run, tag), (e: unknown) => e instanceof RunFileError && reason.test(e.reason));
    await bad(new Map([['q 1', []]]), 't', /query id "q 1"/);
    await bad(new Map([['q', [{ docId: 'a\tb', score: 1 }]]]), 't', /document id "a\\tb"/);
    await bad(RUN, 'two words', /run tag/);
    await bad(new Map([['q', [{ docId: 'a', score: NaN }]]]), 't', /NaN is not a finite number/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a malformed line is named by number', async () => {
    const path = join(dir, 'bad.trec');
    await writeFile(path, 'q1 Q0 d1 1 2.0 t\nq1 Q0 d2 2 t\n');
    await assert.rejects(readTrecRun(path), (e: unknown) => e instanceof RunFileError && e.line === 2 && /found 5/.test(e.reason));
  });
});
