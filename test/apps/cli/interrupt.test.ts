import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interruptible, resumeHint } from '../../../src/apps/cli/interrupt.js';

function withArgv<T>(args: string[], fn: () => T): T {
  const saved = process.argv;
  process.argv = [saved[0]!, '/usr/bin/forja', ...args];
  try {
    return fn();
  } finally {
    process.argv = saved;
  }
}

test('resumeHint repeats the arguments with --resume, dropping --resume/--overwrite, quoting for a shell', () => {
  assert.equal(withArgv(['train', 'vae', '--out', 'runs/vae', '--overwrite'], resumeHint), 'resume with: forja train vae --out runs/vae --resume');
  assert.equal(withArgv(['train', 'vae', '--resume', '--lr=1e-3'], resumeHint), 'resume with: forja train vae --lr=1e-3 --resume');
  assert.equal(withArgv(['train', '--out', 'my runs/a b'], resumeHint), "resume with: forja train --out 'my runs/a b' --resume");
  assert.equal(withArgv(['train', '--name', "it's"], resumeHint), "resume with: forja train --name 'it'\\''s' --resume");
  assert.equal(withArgv(['x', '$HOME', ''], resumeHint), "resume with: forja x '$HOME' '' --resume");
});

test('interruptible: a SIGINT aborts the signal once, and the handler is removed afterwards', async () => {
  const before = process.listenerCount('SIGINT');
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (written.push(chunk), true)) as typeof process.stderr.write;
  try {
    const result = await interruptible(async (signal) => {
      assert.equal(signal.aborted, false);
      assert.equal(process.listenerCount('SIGINT'), before + 1);
      process.emit('SIGINT');
      assert.equal(signal.aborted, true);
      return 'done';
    });
    assert.equal(result, 'done');
  } finally {
    process.stderr.write = write;
  }
  assert.match(written.join(''), /stopping after this step and saving a checkpoint/);
  assert.equal(process.listenerCount('SIGINT'), before);
  await assert.rejects(interruptible(async () => { throw new Error('work failed'); }), /work failed/);
  assert.equal(process.listenerCount('SIGINT'), before);
});
