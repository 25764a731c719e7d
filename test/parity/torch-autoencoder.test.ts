/**
 * Parity with PyTorch 1.13 (../shared/fixtures/torch/mlp-autoencoder-adam):
 * the seed's autoencoder, mean BCE, Adam(1e-3, ε = 1e-7), three steps on real
 * MNIST batches, driven through the Keras-style API.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import { readSafetensors, type SafetensorsTensor } from '../../src/io/safetensors.js';
import { HostTensor, input, layers, model, optimizers } from '../../src/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import { assertClose, kernelFromLinear, tensor, WEIGHT_ATOL } from './torch-weights.js';

const DIR = fixturePath('torch', 'mlp-autoencoder-adam');
let golden: Map<string, SafetensorsTensor>;
let losses: number[];

before(async () => {
  golden = await readSafetensors(`${DIR}/golden.safetensors`);
  losses = JSON.parse(await readFile(`${DIR}/golden.json`, 'utf8')).losses;
});

function autoencoder() {
  const inp = input({ shape: [784] });
  const encoder = layers.dense({ units: 32, activation: 'relu' });
  const decoder = layers.dense({ units: 784, activation: 'sigmoid' });
  const m = model({ inputs: inp, outputs: decoder.apply(encoder.apply(inp)) });
  encoder.setWeights([kernelFromLinear(golden, 'init.0.weight'), tensor(golden, 'init.0.bias')]);
  decoder.setWeights([kernelFromLinear(golden, 'init.2.weight'), tensor(golden, 'init.2.bias')]);
  m.compile({ optimizer: optimizers.adam({ learningRate: 1e-3, epsilon: 1e-7 }), loss: 'binaryCrossentropy' });
  return { m, encoder, decoder };
}

function assertFinalWeights(encoder: ReturnType<typeof layers.dense>, decoder: ReturnType<typeof layers.dense>): void {
  const [k0, b0] = encoder.getWeights();
  const [k2, b2] = decoder.getWeights();
  assertClose(k0!.data as Float32Array, kernelFromLinear(golden, 'final.0.weight'), 'encoder kernel', 1e-5, WEIGHT_ATOL);
  assertClose(b0!.data as Float32Array, tensor(golden, 'final.0.bias'), 'encoder bias', 1e-5, WEIGHT_ATOL);
  assertClose(k2!.data as Float32Array, kernelFromLinear(golden, 'final.2.weight'), 'decoder kernel', 1e-5, WEIGHT_ATOL);
  assertClose(b2!.data as Float32Array, tensor(golden, 'final.2.bias'), 'decoder bias', 1e-5, WEIGHT_ATOL);
}

describe('PyTorch parity: MLP autoencoder with Adam', () => {
  test('trainOnBatch: the three losses and the final weights', async () => {
    const { m, encoder, decoder } = autoencoder();
    for (let i = 0; i < 3; i++) {
      const batch = new HostTensor(tensor(golden, `batch${i}`), [16, 784]);
      const { loss } = await m.trainOnBatch(batch, batch);
      assertClose([loss], [losses[i]!], `loss of step ${i + 1}`);
    }
    assertFinalWeights(encoder, decoder);
  });

  test('fit over the same 48 digits, batch 16, no shuffle: same steps', async () => {
    const { m, encoder, decoder } = autoencoder();
    const x = new Float32Array(48 * 784);
    for (let i = 0; i < 3; i++) x.set(tensor(golden, `batch${i}`), i * 16 * 784);
    const seen: number[] = [];
    const history = await m.fit(x, x, { epochs: 1, batchSize: 16, shuffle: false, callbacks: [{ onBatchEnd: (_b, logs) => void seen.push(logs.loss!) }] });
    assertClose(seen, losses, 'step losses');
    assertClose(history.history.loss!, [(losses[0]! + losses[1]! + losses[2]!) / 3], 'epoch loss');
    assertFinalWeights(encoder, decoder);
    assert.equal(m.optimizer?.iterations, 3);
  });
});
