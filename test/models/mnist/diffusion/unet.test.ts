import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildDiffusionModel } from '../../../../src/models/mnist/diffusion/model.js';
import { NULL_CLASS, UNet } from '../../../../src/models/mnist/diffusion/unet.js';
import { HostTensor, input, loadModel, saveModel } from '../../../../src/index.js';
import { weightPaths } from '../../../../src/nn/index.js';
import { Rng } from '../../../../src/core/rng.js';

const config = { channels: [8, 16] as const, groups: 4, embedDim: 16 };

function batch(rows: number, labels: number[], seed = 1): HostTensor[] {
  const rng = new Rng(seed);
  return [
    new HostTensor(Float32Array.from({ length: rows * 784 }, () => rng.normal()), [rows, 1, 28, 28]),
    new HostTensor(Float32Array.from({ length: rows }, (_, i) => 100 * i + 5), [rows, 1]),
    new HostTensor(BigInt64Array.from(labels, BigInt), [rows, 1]),
  ];
}

/** Give the zero-initialised output convolution weights, so outputs depend on the inputs. */
function wakeUp(net: ReturnType<typeof buildDiffusionModel>): void {
  const rng = new Rng(9);
  for (const v of net.weights) if (v.value.every((x) => x === 0) && v.name.includes('conv_out')) v.assign(Float32Array.from(v.value, () => rng.normal() * 0.1));
}

describe('UNet', () => {
  test('ε has the image shape; the class and timestep change it; weights are named under unet/', async () => {
    const net = buildDiffusionModel(config);
    wakeUp(net);
    const paths = [...weightPaths(net).keys()];
    assert.ok(paths.includes('unet/conv_in/kernel') && paths.includes('unet/mid_attn_qkv/kernel') && paths.includes('unet/class_embed/embeddings'), paths.join(', '));
    assert.ok(paths.includes('unet/up0_skip/kernel'), 'a 1×1 skip where the channels change');
    assert.ok(!paths.includes('unet/down0_skip/kernel'), 'no skip where they do not');
    const [x, t, y] = batch(3, [1, 2, NULL_CLASS]);
    const out = await net.predict([x!, t!, y!]);
    assert.deepEqual(out.shape, [3, 1, 28, 28]);
    assert.ok(out.toArray().every(Number.isFinite));
    const otherClass = await net.predict([x!, t!, batch(3, [5, 2, NULL_CLASS])[2]!]);
    const a = out.toArray();
    const b = otherClass.toArray();
    assert.notDeepEqual(a.slice(0, 784), b.slice(0, 784), 'row 0 changes with its class');
    assert.deepEqual(a.slice(784), b.slice(784), 'rows whose class is unchanged do not (no mixing across the batch)');
  });

  test('survives save and load with the same outputs', async () => {
    const net = buildDiffusionModel(config);
    wakeUp(net);
    const inputs = batch(2, [0, 9]);
    const dir = await mkdtemp(join(tmpdir(), 'forja-unet-'));
    try {
      await saveModel(net, dir);
      const loaded = await loadModel(dir);
      assert.deepEqual((await loaded.predict(inputs)).toArray(), (await net.predict(inputs)).toArray());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bad configurations and inputs are refused, naming them', () => {
    assert.throws(() => new UNet({ channels: [12, 16], groups: 8 }), /channels must be positive multiples of groups \(8\), received 12, 16/);
    assert.throws(() => new UNet({ embedDim: 7 }), /embedDim must be an even integer ≥ 2, received 7/);
    const unet = new UNet(config);
    assert.throws(() => unet.apply([input({ shape: [1, 32, 32] }), input({ shape: [1] }), input({ shape: [1], dtype: 'int64' })]), /x_t must be \[batch, 1, 28, 28\], received \[batch, 1, 32, 32\]/);
    assert.throws(() => unet.apply(input({ shape: [1, 28, 28] })), /expected 3 inputs \(x_t, t, class\), received 1/);
  });
});
