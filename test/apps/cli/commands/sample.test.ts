import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gridGeometry, readPng } from '../../../../src/viz/index.js';
import { forja } from '../../../helpers/forja-cli.js';

const scratch = await mkdtemp(join(tmpdir(), 'forja-sample-'));
after(() => rm(scratch, { recursive: true, force: true }));
const QUICK = ['--epochs', '1', '--limit', '64', '--batch-size', '32'];
const vaeDir = join(scratch, 'vae');
const aeDir = join(scratch, 'ae');

before(async () => {
  const runs = await Promise.all([forja(['train', 'vae', ...QUICK, '--out', vaeDir]), forja(['train', 'autoencoder', ...QUICK, '--out', aeDir])]);
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
});

describe('forja sample', () => {
  test('draws --n digits from a VAE into a PNG grid; the seed fixes them', async () => {
    const [a, b, c] = ['a.png', 'b.png', 'c.png'].map((f) => join(scratch, f));
    const runs = await Promise.all([
      forja(['sample', vaeDir, '--n', '10', '--out', a!, '--seed', '3']),
      forja(['sample', vaeDir, '--n', '10', '--out', b!, '--seed', '3']),
      forja(['sample', vaeDir, '--n', '10', '--out', c!, '--seed', '4']),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    assert.match(runs[0]!.stdout, /wrote 10 samples to /);
    const png = await readPng(a!);
    // 10 digits: a 4-column grid (ceil √10) of 28 px cells at scale 2.
    const geometry = gridGeometry(new Float32Array(10 * 784), { rows: 28, cols: 28, scale: 2 });
    assert.deepEqual([png.width, png.height], [geometry.width, geometry.height]);
    assert.deepEqual(await readFile(a!), await readFile(b!));
    assert.notDeepEqual(await readFile(a!), await readFile(c!));
  });

  test('refuses an autoencoder, a directory that is not a run and a corrupt one (exit 1), naming the problem', async () => {
    const corruptWeights = join(scratch, 'corrupt-weights');
    await cp(vaeDir, corruptWeights, { recursive: true });
    await truncate(join(corruptWeights, 'model.safetensors'), 100);
    const corruptRun = join(scratch, 'corrupt-run');
    await cp(vaeDir, corruptRun, { recursive: true });
    await writeFile(join(corruptRun, 'run.json'), '{"format": "forja-mnist-run", "mod');
    const cases: [string, RegExp][] = [
      [aeDir, /'autoencoder' run, which reconstructs digits but cannot draw new ones/],
      [scratch, /is not a forja train run directory: .*run\.json is missing/],
      [corruptWeights, /model\.safetensors/],
      [corruptRun, /run\.json is corrupt/],
    ];
    const runs = await Promise.all(cases.map(([dir]) => forja(['sample', dir, '--out', join(scratch, 'x.png')])));
    runs.forEach((run, i) => {
      assert.equal(run.code, 1, `${cases[i]![0]}: exit ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, cases[i]![1]);
    });
  });

  test('bad flags, a missing directory and an unwritable --out exit with code 2', async () => {
    const runs = await Promise.all([
      forja(['sample', vaeDir, '--n', '0']),
      forja(['sample', vaeDir, '--out', join(scratch, 'x.jpg')]),
      forja(['sample', join(scratch, 'missing')]),
      forja(['sample', vaeDir, '--out', '/sys/x.png']),
      forja(['sample', vaeDir, '--out', join(vaeDir, 'run.json', 'x.png')]),
    ]);
    assert.deepEqual(runs.map((r) => r.code), [2, 2, 2, 2, 2]);
    assert.match(runs[0]!.stderr, /--n must be a positive integer, got '0'/);
    assert.match(runs[1]!.stderr, /--out must name a \.png file/);
    assert.match(runs[2]!.stderr, /run directory '.*missing' does not exist/);
    assert.match(runs[3]!.stderr, /^forja: --out \/sys\/x\.png: cannot write in \/sys: E[A-Z]+\n$/);
    assert.match(runs[4]!.stderr, /^forja: --out .*run\.json\/x\.png: .*run\.json is a file, not a directory\n$/);
  });
});
