import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { existingDirectory, threadCount } from '../../../src/apps/cli/options.js';

const scratch = mkdtempSync(join(tmpdir(), 'forja-options-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const rejects = (parse: (v: string) => unknown, value: string, message: RegExp) =>
  assert.throws(() => parse(value), (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message));

describe('threadCount', () => {
  const cores = availableParallelism();
  const parse = threadCount('--threads');

  test('accepts 1 to the core count', () => {
    assert.equal(parse('1'), 1);
    assert.equal(parse(String(cores)), cores);
  });

  test('refuses more threads than cores, naming the flag and the count', () => {
    rejects(parse, String(cores + 1), new RegExp(`^--threads must be at most ${cores} \\(the cores this machine has\\), got '${cores + 1}'$`));
    rejects(parse, '0', /--threads must be a positive integer, got '0'/);
    rejects(parse, '1.5', /--threads must be a positive integer/);
  });
});

describe('existingDirectory', () => {
  const parse = existingDirectory('run directory');

  test('returns an existing directory; refuses a missing path or a file', () => {
    assert.equal(parse(scratch), scratch);
    rejects(parse, join(scratch, 'missing'), /^run directory '.*missing' does not exist$/);
    const file = join(scratch, 'file');
    writeFileSync(file, '');
    rejects(parse, file, /^run directory '.*file' is a file, not a directory$/);
  });
});
