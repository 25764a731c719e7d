// The README's seed programs (examples/) must keep running as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers/fixtures.js';

const run = promisify(execFile);

for (const [name, pattern] of [
  ['autoencoder', /val_loss per epoch: \[ 0\.\d+ \]/],
  ['gan', /epoch 1: d_loss \d+\.\d+ {2}g_loss \d+\.\d+/],
] as const) {
  test(`examples/${name}.ts runs one epoch and writes its PNG`, async () => {
    const png = join(REPO_ROOT, 'runs', 'examples', `${name}.png`);
    rmSync(png, { force: true });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
      cwd: REPO_ROOT,
      env: { ...process.env, EPOCHS: '1' },
    });
    assert.match(stdout, pattern);
    assert.ok(existsSync(png), `${png} was not written`);
  });
}
