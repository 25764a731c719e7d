import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gridGeometry, readPng } from '../../../../src/viz/index.js';
import { forja, forjaSignalled, lastJsonLine } from '../../../helpers/forja-cli.js';

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
    for (const key of ['trainLoss', 'valLoss', 'seconds', 'trainSeconds', 'samplesPerSecond']) {
      assert.ok(typeof result[key] === 'number' && Number.isFinite(result[key]) && result[key] > 0, `${key} = ${String(result[key])}`);
    }
    // An autoencoder that has seen 64 digits once is still near BCE of an untrained sigmoid output (ln 2 ≈ 0.69) or below.
    assert.ok((result.valLoss as number) < 0.75);
    for (const file of ['config.json', 'model.safetensors', 'checkpoint.safetensors', 'loss.csv', 'loss.svg', 'run.json']) {
      assert.ok(existsSync(join(out, file)), `${file} is written`);
    }
    const csv = (await readFile(join(out, 'loss.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'epoch,loss,val_loss');
    assert.equal(Number(csv[1]!.split(',')[1]), result.trainLoss);
    // 20 held-out digits: originals above reconstructions, 10 per row, 28 px at scale 2.
    const png = await readPng(join(out, 'reconstructions.png'));
    const geometry = gridGeometry(new Float32Array(40 * 784), { rows: 28, cols: 28, gridCols: 10, scale: 2 });
    assert.deepEqual([png.width, png.height], [geometry.width, geometry.height]);
  });

  test('gan --json reports gLoss and dLoss, with trainLoss = gLoss, and writes samples', async () => {
    const out = join(scratch, 'gan');
    const run = await forja(['train', 'gan', ...QUICK, '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = lastJsonLine(run.stdout);
    assert.equal(result.model, 'gan');
    assert.ok(Number.isFinite(result.gLoss) && Number.isFinite(result.dLoss));
    assert.equal(result.trainLoss, result.gLoss);
    assert.ok(Number.isFinite(result.valLoss));
    assert.ok(existsSync(join(out, 'samples.png')));
  });

  test('bad flag values and unknown models fail with exit code 2 and say what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['train', 'autoencoder', '--epochs', '0'], /--epochs must be a positive integer, got '0'/],
      [['train', 'vae', '--lr', 'fast'], /--lr must be a positive number, got 'fast'/],
      [['train', 'dcgan', '--batch-size', '1.5'], /--batch-size must be a positive integer, got '1.5'/],
      [['train', 'transformer'], /unknown command 'transformer'/],
      [['train', 'autoencoder', '--resume', '--out', join(scratch, 'none')], /--resume: --out .* holds no run to continue/],
      [['train', 'autoencoder', '--batch-size', '1000000000'], /--batch-size must be at most 9,000/],
      [['train', 'autoencoder', '--threads', '1000'], /--threads/],
      [['train', 'autoencoder', '--out', ''], /--out must not be empty/],
      [['train', 'autoencoder', '--out', '/sys/forja-run'], /--out \/sys\/forja-run/],
    ];
    const runs = [];
    for (const [args] of cases) runs.push(await forja(args));
    runs.forEach((run, i) => {
      assert.equal(run.code, 2, `${cases[i]![0].join(' ')}: exit ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, cases[i]![1]);
    });
  });
});

describe('forja train: --out and interruptions', () => {
  const EPOCHS = ['--epochs', '3', '--limit', '64', '--batch-size', '16', '--seed', '5', '--json'];

  test('refuses to train into a finished run or a non-empty directory without --overwrite, and loses nothing', async () => {
    const out = join(scratch, 'finished');
    assert.equal((await forja(['train', 'autoencoder', ...QUICK, '--out', out])).code, 0);
    const before = await readFile(join(out, 'model.safetensors'));
    const again = await forja(['train', 'conv-autoencoder', ...QUICK, '--out', out]);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /--out .* is not empty .*--overwrite/);
    assert.deepEqual(await readFile(join(out, 'model.safetensors')), before, 'the finished run is untouched');
    const same = await forja(['train', 'autoencoder', ...QUICK, '--out', out]);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /already holds an autoencoder run: pass --resume .* or --overwrite/);
    assert.equal((await forja(['train', 'autoencoder', ...QUICK, '--out', out, '--overwrite'])).code, 0);
  });

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    test(`${signal} after the first epoch, then --resume: the same weights as an uninterrupted run`, async () => {
      const straight = join(scratch, `straight-${signal}`);
      const cut = join(scratch, `cut-${signal}`);
      assert.equal((await forja(['train', 'vae', ...EPOCHS, '--out', straight])).code, 0);
      const stopped = await forjaSignalled(['train', 'vae', ...EPOCHS, '--out', cut], signal, /"epoch":1,/);
      if (signal === 'SIGINT') {
        assert.equal(stopped.code, 130, stopped.stderr);
        assert.match(stopped.stderr, /interrupted at epoch \d, step \d+; the checkpoint is in/);
        assert.match(stopped.stderr, /resume with: forja train vae .*--resume/);
      } else {
        assert.equal(stopped.signal, 'SIGKILL');
      }
      const resumed = await forja(['train', 'vae', '--out', cut, '--resume', '--json']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(lastJsonLine(resumed.stdout).epochs, 3);
      assert.deepEqual(await readFile(join(cut, 'model.safetensors')), await readFile(join(straight, 'model.safetensors')));
      assert.ok(existsSync(join(cut, 'samples.png')));
    });
  }
});
