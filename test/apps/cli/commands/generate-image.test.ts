import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { diffusionSpec } from '../../../../src/models/mnist/diffusion/model.js';
import { trainRun } from '../../../../src/models/mnist/run.js';
import { gridGeometry, readPng } from '../../../../src/viz/index.js';
import { forja } from '../../../helpers/forja-cli.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-generate-image-'));
after(() => rm(scratch, { recursive: true, force: true }));
const runDir = join(scratch, 'diffusion');

before(async () => {
  // A tiny U-Net trained in-process: the command's path, not the digits' quality, is under test.
  const tiny = diffusionSpec({ channels: [8, 8], groups: 4, embedDim: 16 }, { steps: 2, guidance: 2 });
  await trainRun(tiny, { outDir: runDir, epochs: 1, batchSize: 16, limit: 16, seed: 1 });
});

describe('forja generate-image', () => {
  test('a Spanish prompt draws that digit into a PNG grid', async () => {
    const out = join(scratch, 'siete.png');
    const r = await forja(['generate-image', 'un siete', '--model', runDir, '--n', '3', '--steps', '2', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote 3 images of the digit 7 \("un siete"\) to /);
    const png = await readPng(out);
    const geometry = gridGeometry(new Float32Array(3 * 784), { rows: 28, cols: 28, scale: 2 });
    assert.deepEqual([png.width, png.height], [geometry.width, geometry.height]);
  });

  test('a prompt naming no digit, or a bad guidance, is refused before the model loads', async () => {
    const [words, guidance] = await Promise.all([
      forja(['generate-image', 'a cat', '--model', runDir, '--out', join(scratch, 'cat.png')]),
      forja(['generate-image', '7', '--model', runDir, '--guidance', '-1']),
    ]);
    assert.notEqual(words.code, 0);
    assert.match(words.stderr, /generate-image: prompt "a cat": 'cat' is not a digit word/);
    assert.equal(guidance.code, 2);
    assert.match(guidance.stderr, /--guidance must be 0 or more/);
  });
});
