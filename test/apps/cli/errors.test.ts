import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliErrorFrom, CliError, EXIT, exitCodeOf } from '../../../src/apps/cli/errors.js';
import { HubError } from '../../../src/io/hub.js';

test('exit codes: CliError keeps its own, a hub id that names nothing is usage, the rest failure', () => {
  assert.deepEqual(EXIT, { ok: 0, failure: 1, usage: 2, interrupted: 130 });
  assert.equal(new CliError('bad flag').exitCode, EXIT.usage);
  assert.equal(exitCodeOf(new CliError('x', EXIT.failure)), 1);
  assert.equal(exitCodeOf(new Error('disk full')), 1);
  assert.equal(exitCodeOf('a string'), 1);
  assert.equal(exitCodeOf(new HubError('BAD_ID', 'x')), EXIT.usage);
  assert.equal(exitCodeOf(new HubError('NOT_FOUND', 'x')), EXIT.usage);
  assert.equal(exitCodeOf(new HubError('NETWORK', 'x')), EXIT.failure);
  assert.equal(cliErrorFrom('generate gpt9', new HubError('NOT_FOUND', 'no such repo')).exitCode, EXIT.usage);
});

test('cliErrorFrom prefixes the context, keeps a CliError as is', () => {
  const e = cliErrorFrom('sample runs/vae', new Error('no such checkpoint'));
  assert.ok(e instanceof CliError);
  assert.equal(e.name, 'CliError');
  assert.equal(e.message, 'sample runs/vae: no such checkpoint');
  assert.equal(e.exitCode, EXIT.failure);
  assert.equal(cliErrorFrom('train', 'boom').message, 'train: boom');
  const own = new CliError('--epochs must be positive');
  assert.equal(cliErrorFrom('train', own), own);
});
