import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadRecordError, ProblemLog, formatLocation } from '../../../src/data/finetune/problems.js';

test('a lenient log counts by reason, keeps the first few in order, and lists the files', () => {
  const log = new ProblemLog(false, 2);
  log.add({ file: 'a.jsonl', line: 3, reason: 'invalid-json', message: 'not valid JSON' });
  log.add({ file: 'b.jsonl', line: 1, reason: 'unknown-role', message: 'unknown role "bot"' });
  log.add({ file: 'a.jsonl', line: 9, reason: 'invalid-json', message: 'not valid JSON' });
  const r = log.report();
  assert.equal(r.total, 3);
  assert.deepEqual(r.byReason, { 'invalid-json': 2, 'unknown-role': 1 });
  assert.deepEqual(r.first.map(formatLocation), ['a.jsonl:3', 'b.jsonl:1']);
  assert.equal(log.count('invalid-json'), 2);
  assert.equal(log.count('empty-content'), 0);
  assert.deepEqual(log.filesWithProblems(), ['a.jsonl', 'b.jsonl']);
  // The report is a copy: later problems do not change it.
  log.add({ file: 'c.txt', reason: 'empty-content', message: 'the file is empty' });
  assert.equal(r.total, 3);
});

test('a strict log throws a BadRecordError naming file:line at the first problem', () => {
  const log = new ProblemLog(true);
  assert.throws(
    () => log.add({ file: '/d/chat.jsonl', line: 7, reason: 'unknown-role', message: 'unknown role "bot" in messages[1]' }),
    (err: unknown) => {
      assert.ok(err instanceof BadRecordError);
      assert.equal(err.message, '/d/chat.jsonl:7: unknown role "bot" in messages[1]');
      assert.equal(err.file, '/d/chat.jsonl');
      assert.equal(err.line, 7);
      assert.equal(err.reason, 'unknown-role');
      return true;
    },
  );
  assert.equal(formatLocation({ file: 'notes.txt' }), 'notes.txt');
});
