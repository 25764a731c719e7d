import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gridGeometry, readPng } from '../../../../src/viz/index.js';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-train-'));
after(() => rm(scratch, { recursive: true, force: true }));
/** 64 training digits, one epoch: seconds. */
const QUICK = ['--epochs', '1', '--limit', '64', '--batch-size', '32'];

describe('forja train (MNIST models)', () => {
  test('autoencoder --json: result line, weights, checkpoint, losses, plot and reconstructions', async () => {
    const out = join(scratch, 'ae');
    const run = await forja(['train', 'autoencoder', ...QUICK, '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = lastJsonLine(run.stdout);
    assert.equal(result.model, 'autoencoder');
    assert.equal(result.epochs, 1);
    for (const key of ['train_loss', 'val_loss', 'seconds', 'samples_per_second']) {
      assert.ok(typeof result[key] === 'number' && Number.isFinite(result[key]) && result[key] > 0, `${key} = ${String(result[key])}`);
    }
    // An autoencoder that has seen 64 digits once is still near BCE of an untrained sigmoid output (ln 2 ≈ 0.69) or below.
    assert.ok((result.val_loss as number) < 0.75);
    for (const file of ['config.json', 'model.safetensors', 'checkpoint.safetensors', 'loss.csv', 'loss.svg', 'run.json']) {
      assert.ok(existsSync(join(out, file)), `${file} is written`);
    }
    const csv = (await readFile(join(out, 'loss.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'epoch,loss,val_loss');
    assert.equal(Number(csv[1]!.split(',')[1]), result.train_loss);
    // 20 held-out digits: originals above reconstructions, 10 per row, 28 px at scale 2.
    const png = await readPng(join(out, 'reconstructions.png'));
    const geometry = gridGeometry(new Float32Array(40 * 784), { rows: 28, cols: 28, gridCols: 10, scale: 2 });
    assert.deepEqual([png.width, png.height], [geometry.width, geometry.height]);
  });

  test('gan --json reports g_loss and d_loss, with train_loss = g_loss, and writes samples', async () => {
    const out = join(scratch, 'gan');
    const run = await forja(['train', 'gan', ...QUICK, '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = lastJsonLine(run.stdout);
    assert.equal(result.model, 'gan');
    assert.ok(Number.isFinite(result.g_loss) && Number.isFinite(result.d_loss));
    assert.equal(result.train_loss, result.g_loss);
    assert.ok(Number.isFinite(result.val_loss));
    assert.ok(existsSync(join(out, 'samples.png')));
  });

  test('bad flag values and unknown models fail with exit code 2 and say what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['train', 'autoencoder', '--epochs', '0'], /--epochs must be a positive integer, got '0'/],
      [['train', 'vae', '--lr', 'fast'], /--lr must be a positive number, got 'fast'/],
      [['train', 'dcgan', '--batch-size', '1.5'], /--batch-size must be a positive integer, got '1.5'/],
      [['train', 'transformer'], /unknown command 'transformer'/],
      [['train', 'autoencoder', '--resume', '--out', join(scratch, 'none')], /--resume: no checkpoint in/],
    ];
    const runs = await Promise.all(cases.map(([args]) => forja(args)));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${cases[i]![0].join(' ')}: exit ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, cases[i]![1]);
    });
  });
});
