import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model, optimizers } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

const close = (a: number[], b: number[], tol = 1e-5): void => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < tol, `[${i}] ${v} vs ${b[i]}`));

describe('BatchNormalization', () => {
  test('passes the layer test on features', async () => {
    await runLayerTest(() => layers.batchNormalization(), [3], { outputShape: [3], params: 12, trainableParams: 6, trainingCheck: 'trainOnBatch' });
  });

  test('passes the layer test on NCHW images (channel axis 1)', async () => {
    await runLayerTest(() => layers.batchNormalization(), [2, 3, 3], { outputShape: [2, 3, 3], params: 8, trainableParams: 4, trainingCheck: 'trainOnBatch' });
  });

  test('inference uses the moving statistics: γ(x − μ)/√(σ² + ε) + β', async () => {
    const bn = layers.batchNormalization({ epsilon: 0.01 });
    const inp = input({ shape: [2] });
    const m = model({ inputs: inp, outputs: bn.apply(inp) });
    bn.setWeights([Float32Array.from([2, 3]), Float32Array.from([1, -1]), Float32Array.from([0.5, -2]), Float32Array.from([4, 0.25])]);
    const y = await m.predict(new HostTensor(Float32Array.from([1, 0, 3, 2]), [2, 2]));
    const f = (x: number, c: number): number => [2, 3][c]! * (x - [0.5, -2][c]!) / Math.sqrt([4, 0.25][c]! + 0.01) + [1, -1][c]!;
    close(y.toArray(), [f(1, 0), f(0, 1), f(3, 0), f(2, 1)]);
  });

  test('a training step moves the statistics: moving = 0.99·moving + 0.01·batch (biased variance)', async () => {
    const bn = layers.batchNormalization();
    const inp = input({ shape: [1] });
    const m = model({ inputs: inp, outputs: bn.apply(inp) });
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0 }), loss: 'mse' });
    await m.trainOnBatch(Float32Array.from([1, 2, 6]), Float32Array.from([0, 0, 0]));
    const [, , mean, variance] = bn.getWeights();
    // batch mean 3, biased variance ((−2)² + (−1)² + 3²)/3 = 14/3
    close(mean!.toArray(), [0.01 * 3]);
    close(variance!.toArray(), [0.99 + 0.01 * (14 / 3)]);
  });

  test('a frozen layer normalises with the moving statistics and leaves them alone', async () => {
    const bn = layers.batchNormalization();
    const inp = input({ shape: [1] });
    const front = layers.dense({ units: 1 });
    const m = model({ inputs: inp, outputs: bn.apply(front.apply(inp)) });
    bn.trainable = false;
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    await m.trainOnBatch(Float32Array.from([1, 2, 6]), Float32Array.from([0, 1, 0]));
    assert.deepEqual(bn.getWeights().map((w) => w.toArray()), [[1], [0], [0], [1]]);
  });
});
