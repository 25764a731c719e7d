import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, layers, optimizers, sequential } from '../../src/index.js';

const values = (m: { getWeights(): HostTensor[] }): number[][] => m.getWeights().map((w) => w.toArray());

describe('trainable = false', () => {
  test('the GAN pattern: compile D, freeze it, compile the GAN; D still trains alone, the GAN leaves it alone', async () => {
    const generator = sequential([layers.dense({ units: 4, inputShape: [2] }), layers.leakyReLU({ alpha: 0.01 })]);
    const discriminator = sequential([layers.dense({ units: 1, inputShape: [4], activation: 'sigmoid' })]);
    discriminator.compile({ optimizer: optimizers.adam({ learningRate: 0.01 }), loss: 'binaryCrossentropy' });
    discriminator.trainable = false;
    const gan = sequential([generator, discriminator]);
    gan.compile({ optimizer: optimizers.adam({ learningRate: 0.01 }), loss: 'binaryCrossentropy' });
    assert.equal(gan.trainableWeights.length, 2);

    const z = new HostTensor(Float32Array.from([0.1, 0.2, -0.3, 0.4, 1, -1]), [3, 2]);
    const d0 = values(discriminator);
    const g0 = values(generator);
    await gan.trainOnBatch(z, Float32Array.from([1, 1, 1]));
    assert.deepEqual(values(discriminator), d0, 'the GAN step must not move the discriminator');
    assert.notDeepEqual(values(generator), g0, 'the GAN step moves the generator');

    const g1 = values(generator);
    await discriminator.trainOnBatch(new HostTensor(new Float32Array(12).fill(0.5), [3, 4]), Float32Array.from([1, 0, 1]));
    assert.notDeepEqual(values(discriminator), d0, 'D was compiled while trainable, so its own step trains it');
    assert.deepEqual(values(generator), g1);
  });

  test('a frozen layer inside a model compiled afterwards keeps its weights; the others train', async () => {
    const frozen = layers.dense({ units: 3, inputShape: [2] });
    const head = layers.dense({ units: 1 });
    const m = sequential([frozen, head]);
    frozen.trainable = false;
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const before = values(frozen);
    const headBefore = values(head);
    await m.fit(Float32Array.from([1, 2, 3, 4]), Float32Array.from([1, -1]), { epochs: 3 });
    assert.deepEqual(values(frozen), before);
    assert.notDeepEqual(values(head), headBefore);
    assert.equal(m.trainableWeights.length, 2);
    assert.equal(m.nonTrainableWeights.length, 2);
  });
});
