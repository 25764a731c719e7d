/** The diffusion sampling flags of `forja sample` and `forja eval`: parsing, bad input, and a 10×10 grid. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { digitChoice, nonNegativeNumber } from '../../../src/apps/cli/diffusion-options.js';
import { diffusionSpec } from '../../../src/models/mnist/diffusion/model.js';
import { trainRun } from '../../../src/models/mnist/run.js';
import { gridGeometry, readPng } from '../../../src/viz/index.js';
import { forja, lastJsonLine } from '../../helpers/forja-cli.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-diffusion-cli-'));
after(() => rm(scratch, { recursive: true, force: true }));
const diffusionDir = join(scratch, 'diffusion');
const vaeDir = join(scratch, 'vae');

before(async () => {
  // A tiny U-Net trained in-process; the run loads through the CLI like any diffusion run.
  const tiny = diffusionSpec({ channels: [8, 8], groups: 4, embedDim: 16 }, { steps: 2, guidance: 2 });
  await trainRun(tiny, { outDir: diffusionDir, epochs: 1, batchSize: 16, limit: 16, seed: 1 });
  const vae = await forja(['train', 'vae', '--epochs', '1', '--limit', '32', '--batch-size', '32', '--out', vaeDir]);
  assert.equal(vae.code, 0, vae.stderr);
});

describe('parsers', () => {
  test('--digit takes 0-9 or all', () => {
    const parse = digitChoice('--digit');
    assert.equal(parse('0'), 0);
    assert.equal(parse('9'), 9);
    assert.equal(parse('all'), 'all');
    for (const bad of ['12', '-1', '1.5', '', 'seven', ' 3']) assert.throws(() => parse(bad), (e: Error) => e instanceof InvalidArgumentError && e.message === `--digit must be a digit from 0 to 9 or 'all', got '${bad}'`);
  });

  test('--guidance takes a finite number ≥ 0', () => {
    const parse = nonNegativeNumber('--guidance');
    assert.equal(parse('0'), 0);
    assert.equal(parse('2.5'), 2.5);
    for (const bad of ['nan', 'NaN', 'inf', '', 'abc']) assert.throws(() => parse(bad), new RegExp(`^InvalidArgumentError: --guidance must be a number, got '${bad}'$`));
    assert.throws(() => parse('-1'), /--guidance must be 0 or more \(0 is unconditional, 1 conditional, above 1 guided\), got '-1'/);
  });
});

describe('forja sample (diffusion)', () => {
  test('--digit all writes a 10×10 grid; --digit 3 draws threes', async () => {
    const grid = join(scratch, 'grid.png');
    const three = join(scratch, 'three.png');
    const [all, one] = await Promise.all([
      forja(['sample', diffusionDir, '--digit', 'all', '--guidance', '3', '--steps', '2', '--out', grid]),
      forja(['sample', diffusionDir, '--digit', '3', '--n', '5', '--out', three]),
    ]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /wrote 100 samples to /);
    const png = await readPng(grid);
    const geometry = gridGeometry(new Float32Array(100 * 784), { rows: 28, cols: 28, scale: 2, gridCols: 10 });
    assert.deepEqual([png.width, png.height], [geometry.width, geometry.height]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /wrote 5 samples to /);
  });

  test('bad --digit, --guidance, --steps and --sampler are usage errors naming the flag', async () => {
    const out = ['--out', join(scratch, 'x.png')];
    const cases: [string[], RegExp][] = [
      [['--digit', '12'], /--digit must be a digit from 0 to 9 or 'all', got '12'/],
      [['--guidance', '-1'], /--guidance must be 0 or more .*got '-1'/],
      [['--guidance', 'nan'], /--guidance must be a number, got 'nan'/],
      [['--steps', '0'], /--steps must be a positive integer, got '0'/],
      [['--steps', '1001'], /--steps must be at most 1,000, got '1001'/],
      [['--sampler', 'euler'], /--sampler.*'euler' is invalid/],
      [['--eta', '2'], /--eta must be a number in \[0, 1\], got '2'/],
      [['--digit', 'all', '--n', '5'], /--digit all draws 10 of each digit; drop --n or pass one digit/],
    ];
    const runs = await Promise.all(cases.map(([flags]) => forja(['sample', diffusionDir, ...flags, ...out])));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${cases[i]![0].join(' ')}: exit ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, cases[i]![1]);
    });
  });

  test('diffusion flags on a VAE run are refused, naming them', async () => {
    const run = await forja(['sample', vaeDir, '--digit', '3', '--out', join(scratch, 'v.png')]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--digit, --guidance, --steps, --sampler and --eta need a diffusion run; this is a 'vae' run/);
  });
});

describe('forja eval (diffusion)', () => {
  test('reports FID of 1,000 samples and the conditional accuracy; refuses bad or misplaced flags', async () => {
    const cache = { FORJA_CACHE: join(scratch, 'cache') };
    const [ok, badGuidance, onVae] = await Promise.all([
      forja(['eval', diffusionDir, '--json', '--steps', '1'], cache),
      forja(['eval', diffusionDir, '--guidance', 'NaN'], cache),
      forja(['eval', vaeDir, '--guidance', '2'], cache),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const result = lastJsonLine(ok.stdout);
    assert.equal(result.model, 'diffusion');
    assert.equal(result.fid_of, 'samples');
    assert.equal(result.fid_count, 1000);
    const accuracy = result.conditional_accuracy as number;
    assert.ok(accuracy >= 0 && accuracy <= 1, `conditional accuracy ${accuracy}`);
    assert.deepEqual(result.sampling, { steps: 1 });
    assert.equal(badGuidance.code, 2);
    assert.match(badGuidance.stderr, /--guidance must be a number, got 'NaN'/);
    assert.equal(onVae.code, 2);
    assert.match(onVae.stderr, /--guidance, --steps, --sampler and --eta need a diffusion run; this is a 'vae' run/);
  });
});
