// The README's seed programs (examples/) must keep running as written; their PNGs go to a temp dir.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readPng } from '../src/viz/image-grid.js';
import { REPO_ROOT } from './helpers/fixtures.js';

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'forja-examples-'));
after(() => rmSync(out, { recursive: true, force: true }));

/** Width or height of a grid of n 28-pixel cells with the default 2-pixel padding. */
const side = (n: number) => n * 28 + (n + 1) * 2;

for (const [name, pattern, grid] of [
  ['autoencoder', /val_loss per epoch: \[ 0\.\d+ \]/, { cols: 16, rows: 2 }], // 16 originals over their reconstructions
  ['gan', /epoch 1: d_loss \d+\.\d+ {2}g_loss \d+\.\d+/, { cols: 8, rows: 8 }], // 64 samples
] as const) {
  test(`examples/${name}.ts runs one epoch and writes its PNG to OUT_DIR`, async () => {
    const inRepo = join(REPO_ROOT, 'runs', 'examples', `${name}.png`);
    const before = existsSync(inRepo) ? statSync(inRepo).mtimeMs : undefined;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
      cwd: REPO_ROOT,
      env: { ...process.env, EPOCHS: '1', OUT_DIR: out },
    });
    assert.match(stdout, pattern);
    const png = await readPng(join(out, `${name}.png`));
    assert.deepEqual([png.width, png.height, png.channels], [side(grid.cols), side(grid.rows), 1]);
    assert.equal(existsSync(inRepo) ? statSync(inRepo).mtimeMs : undefined, before, 'the repository is not written to');
  });
}
