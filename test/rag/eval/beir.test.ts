import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBeirDataset, loadQrels, loadQueries } from '../../../src/rag/eval/beir.js';
import { DatasetError } from '../../../src/rag/eval/errors.js';
import { dataPath } from '../../helpers/fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forja-beir-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

function failsAt(line: number | undefined, reason: RegExp) {
  return (e: unknown): boolean => e instanceof DatasetError && e.line === line && reason.test(e.reason);
}

describe('loadQueries', () => {
  test('ids and texts in file order; numeric ids become strings; blank lines skipped', async () => {
    const path = await file('queries.jsonl', '{"_id": "b", "text": "second claim", "metadata": {}}\n\n{"_id": 7, "text": "caf\\u00e9"}\r\n');
    assert.deepEqual([...(await loadQueries(path))], [['b', 'second claim'], ['7', 'café']]);
  });

  test('bad lines are named by number', async () => {
    await assert.rejects(loadQueries(await file('a.jsonl', '{"_id": "1", "text": "x"}\n{"_id": "2", "text": \n')), failsAt(2, /not JSON/));
    await assert.rejects(loadQueries(await file('b.jsonl', '{"text": "x"}\n')), failsAt(1, /"_id"/));
    await assert.rejects(loadQueries(await file('c.jsonl', '{"_id": "1"}\n')), failsAt(1, /query 1: "text"/));
    await assert.rejects(loadQueries(await file('d.jsonl', '[1]\n')), failsAt(1, /JSON object/));
    await assert.rejects(loadQueries(await file('e.jsonl', '{"_id": "1", "text": "x"}\n{"_id": "1", "text": "y"}\n')), failsAt(2, /appears again \(first on line 1\)/));
    await assert.rejects(loadQueries(join(dir, 'none.jsonl')), failsAt(undefined, /no such file/));
    const latin1 = join(dir, 'latin1.jsonl');
    await writeFile(latin1, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d, 0x0a]));
    await assert.rejects(loadQueries(latin1), failsAt(undefined, /not UTF-8/));
  });
});

describe('loadQrels', () => {
  test('the header is skipped, CRLF stripped, grades kept', async () => {
    const path = await file('qrels/test.tsv', 'query-id\tcorpus-id\tscore\r\n1\td1\t1\r\n1\td2\t2\r\n3\td1\t0\r\n');
    const qrels = await loadQrels(path);
    assert.deepEqual([...qrels].map(([q, m]) => [q, [...m]]), [['1', [['d1', 1], ['d2', 2]]], ['3', [['d1', 0]]]]);
  });

  test('bad lines are named by number', async () => {
    await assert.rejects(loadQrels(await file('a.tsv', '1\td1\t1\n')), failsAt(1, /header/));
    await assert.rejects(loadQrels(await file('b.tsv', 'q\tc\ts\n1\td1\n')), failsAt(2, /3 tab-separated fields.*found 2/));
    await assert.rejects(loadQrels(await file('c.tsv', 'q\tc\ts\n1\td1\tyes\n')), failsAt(2, /"yes" is not an integer/));
    await assert.rejects(loadQrels(await file('d.tsv', 'q\tc\ts\n1\td1\t1\n\n1\td1\t0\n')), failsAt(4, /judged again \(first on line 2\)/));
    await assert.rejects(loadQrels(await file('e.tsv', 'q\tc\ts\n')), failsAt(undefined, /no judgments/));
    await assert.rejects(loadQrels(await file('f.tsv', 'q\tc\ts\n\td1\t1\n')), failsAt(2, /empty query-id/));
  });
});

describe('loadBeirDataset', () => {
  test('keeps the judged queries, in qrels order', async () => {
    await file('queries.jsonl', '{"_id": "1", "text": "one"}\n{"_id": "2", "text": "two"}\n{"_id": "3", "text": "three"}\n');
    await file('qrels/dev.tsv', 'query-id\tcorpus-id\tscore\n3\td\t1\n1\td\t1\n');
    const ds = await loadBeirDataset(dir, 'dev');
    assert.deepEqual([...ds.queries], [['3', 'three'], ['1', 'one']]);
    assert.equal(ds.split, 'dev');
  });

  test('a judged query missing from queries.jsonl is named', async () => {
    await file('queries.jsonl', '{"_id": "1", "text": "one"}\n');
    await file('qrels/test.tsv', 'query-id\tcorpus-id\tscore\n1\td\t1\n9\td\t1\n');
    await assert.rejects(loadBeirDataset(dir), (e: unknown) => e instanceof DatasetError && /does not hold: 9$/.test(e.message));
  });

  test('SciFact: 300 judged test queries, 339 judgments, all grade 1', async () => {
    const ds = await loadBeirDataset(dataPath('scifact'));
    assert.equal(ds.queries.size, 300);
    const grades = [...ds.qrels.values()].flatMap((m) => [...m.values()]);
    assert.equal(grades.length, 339);
    assert.ok(grades.every((g) => g === 1));
    assert.equal(ds.queries.get('1'), '0-dimensional biomaterials show inductive properties.');
  });
});
