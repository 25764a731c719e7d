import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../../../src/apps/cli/errors.js';
import { checkWritableDir, checkWritableFile, prepareOutDir } from '../../../src/apps/cli/output.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-output-'));
after(() => rm(scratch, { recursive: true, force: true }));

/** A usage error (exit 2) whose message matches. */
const usage = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof CliError, `expected a CliError, got ${String(err)}`);
  assert.equal(err.exitCode, 2);
  assert.match(err.message, pattern);
  return true;
};

// /sys is sysfs: root passes access(W_OK) there but cannot create files.
const UNWRITABLE = '/sys';

describe('checkWritableFile', () => {
  test('accepts a file in an existing or creatable directory, creating nothing and leaving no probe', async () => {
    const dir = join(scratch, 'file-ok');
    await mkdir(dir);
    await checkWritableFile(join(dir, 'a.png'), '--out');
    await checkWritableFile(join(dir, 'new', 'deeper', 'a.png'), '--out');
    assert.deepEqual(await readdir(dir), []);
  });

  test('refuses unwritable places, directories and empty paths, naming the flag and path', async () => {
    const file = join(scratch, 'plain-file');
    await writeFile(file, 'x');
    await assert.rejects(checkWritableFile(`${UNWRITABLE}/x.png`, '--out'), usage(/^--out \/sys\/x\.png: cannot write in \/sys: E/));
    await assert.rejects(checkWritableFile(`${UNWRITABLE}/a/b/x.png`, '--out'), usage(/--out \/sys\/a\/b\/x\.png: cannot write in \/sys \(to create \/sys\/a\/b\)/));
    await assert.rejects(checkWritableFile(join(file, 'x.png'), '--out'), usage(/plain-file is a file, not a directory/));
    await assert.rejects(checkWritableFile(scratch, '--out'), usage(/--out .* is a directory; give a file path/));
    await assert.rejects(checkWritableFile('', '--out'), usage(/--out must not be empty/));
  });
});

describe('checkWritableDir', () => {
  test('a directory to write into: existing or creatable, not a file, not empty-named', async () => {
    const file = join(scratch, 'dir-file');
    await writeFile(file, 'x');
    assert.equal(await checkWritableDir(scratch, '--out'), true);
    assert.equal(await checkWritableDir(join(scratch, 'not-yet', 'made'), '--out'), false);
    assert.equal(existsSync(join(scratch, 'not-yet')), false);
    await assert.rejects(checkWritableDir(`${UNWRITABLE}/export`, '--out'), usage(/^--out \/sys\/export: cannot write in \/sys/));
    await assert.rejects(checkWritableDir(file, '--out'), usage(/--out .*dir-file is a file, not a directory/));
    await assert.rejects(checkWritableDir('', '--out'), usage(/^--out must not be empty$/));
  });
});

describe('prepareOutDir', () => {
  const isRun = (dir: string) => existsSync(join(dir, 'run.json'));
  const opts = { flag: '--out', overwrite: false, resumable: isRun, kind: 'vae' };

  test('a missing or empty directory is new; nothing is created', async () => {
    const missing = join(scratch, 'missing', 'run');
    assert.equal(await prepareOutDir(missing, opts), 'new');
    assert.equal(existsSync(join(scratch, 'missing')), false);
    const empty = join(scratch, 'empty');
    await mkdir(empty);
    assert.equal(await prepareOutDir(empty, opts), 'new');
  });

  test('a non-empty directory needs --overwrite, or --resume when it holds a run of the kind', async () => {
    const other = join(scratch, 'other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'mine');
    await assert.rejects(prepareOutDir(other, opts), usage(/--out .*other is not empty and does not hold a vae run that can be resumed: pass --overwrite/));
    await assert.rejects(prepareOutDir(other, { ...opts, resume: true }), usage(/--resume: --out .*other does not hold a vae run that can be resumed/));
    assert.equal(await prepareOutDir(other, { ...opts, overwrite: true }), 'overwrite');
    assert.deepEqual(await readdir(other), ['notes.txt'], 'nothing is deleted');

    const run = join(scratch, 'run');
    await mkdir(run);
    await writeFile(join(run, 'run.json'), '{}');
    await assert.rejects(prepareOutDir(run, opts), usage(/--out .*run already holds a vae run: pass --resume to continue it or --overwrite to start again/));
    assert.equal(await prepareOutDir(run, { ...opts, resume: true }), 'resume');
    assert.equal(await prepareOutDir(run, { ...opts, resumable: async (d) => isRun(d), resume: true }), 'resume');
    assert.equal(await prepareOutDir(run, { ...opts, overwrite: true }), 'overwrite');
    await assert.rejects(prepareOutDir(run, { ...opts, overwrite: true, resume: true }), usage(/--overwrite and --resume cannot be combined/));
  });

  test('refuses an empty name, a file, an unwritable place and --resume of nothing', async () => {
    const file = join(scratch, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(prepareOutDir('', opts), usage(/^--out must not be empty$/));
    await assert.rejects(prepareOutDir(file, opts), usage(/--out .*a-file is a file, not a directory/));
    await assert.rejects(prepareOutDir(`${UNWRITABLE}/run`, opts), usage(/^--out \/sys\/run: cannot write in \/sys \(to create \/sys\/run\)/));
    await assert.rejects(prepareOutDir(join(scratch, 'nothing'), { ...opts, resume: true }), usage(/--resume: --out .*nothing holds no run to continue/));
  });
});
