import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import { HostTensor, layers, losses, optimizers, read, sequential, TrainStep } from '../../src/index.js';

describe('TrainStep', () => {
  test('minimises a custom loss over named inputs, one run per step', async () => {
    const w = new Variable('w_fit', [2], Float32Array.from([0, 0]));
    const step = new TrainStep({
      inputs: { x: [2], y: [] },
      trainable: [w],
      optimizer: optimizers.sgd({ learningRate: 0.1 }),
      loss: ({ x, y }) => losses.meanSquaredError(y!, F.sum(F.mul(x!, read(w)), [-1])),
    });
    const x = new HostTensor(Float32Array.from([1, 0, 0, 1, 1, 1]), [3, 2]);
    const y = new HostTensor(Float32Array.from([2, -1, 1]), [3]);
    let last = Infinity;
    for (let i = 0; i < 200; i++) last = (await step.run({ x, y })).loss;
    assert.ok(last < 1e-6, `loss ${last}`);
    assert.ok(Math.abs(w.value[0]! - 2) < 1e-3 && Math.abs(w.value[1]! + 1) < 1e-3, `w = ${w.value}`);
    assert.equal(step.optimizer.iterations, 200);
  });

  test('weights of layers used but not trainable are read, not updated; extra outputs come back', async () => {
    const frozen = sequential([layers.dense({ units: 3, inputShape: [2] })]);
    const trained = sequential([layers.dense({ units: 1, inputShape: [3] })]);
    const step = new TrainStep({
      inputs: { x: [2] },
      trainable: trained,
      optimizer: 'adam',
      loss: ({ x }) => {
        const h = frozen.apply(x!);
        const out = trained.apply(h);
        return { loss: F.mean(F.mul(out, out)), hidden: h, mean: F.mean(out) };
      },
    });
    const before = frozen.getWeights().map((v) => v.toArray());
    const trainedBefore = trained.getWeights().map((v) => v.toArray());
    const result = await step.run({ x: new HostTensor(Float32Array.from([1, 2, 3, 4]), [2, 2]) });
    assert.deepEqual(frozen.getWeights().map((v) => v.toArray()), before);
    assert.notDeepEqual(trained.getWeights().map((v) => v.toArray()), trainedBefore);
    assert.ok(result.hidden instanceof HostTensor);
    assert.deepEqual((result.hidden as HostTensor).shape, [2, 3]);
    assert.equal(typeof result.mean, 'number');
  });

  test('a non-finite loss is an error and leaves the weights alone', async () => {
    const w = new Variable('w_nan', [1], Float32Array.from([1]));
    const step = new TrainStep({ inputs: { x: [1] }, trainable: [w], optimizer: 'sgd', loss: ({ x }) => F.mean(F.mul(x!, read(w))) });
    await step.run({ x: Float32Array.from([1]) });
    const good = Array.from(w.value);
    await assert.rejects(step.run({ x: Float32Array.from([Number.NaN]) }), /TrainStep 'train_step': the loss is NaN at step 2; the weights were not updated/);
    assert.deepEqual(Array.from(w.value), good);
  });

  test('input errors name the step and the input', async () => {
    const w = new Variable('w_err', [1]);
    const step = new TrainStep({ name: 'checked', inputs: { a: [2], b: [1] }, trainable: [w], optimizer: 'sgd', loss: ({ a }) => F.mean(F.mul(a!, read(w))) });
    await assert.rejects(step.run({ a: new Float32Array(4) }), /TrainStep 'checked': missing input 'b'/);
    await assert.rejects(step.run({ a: new Float32Array(4), b: new Float32Array(3) }), /TrainStep 'checked': input 'b' has 3 rows but 'a' has 2/);
  });

  test('int64 inputs feed an Embedding', async () => {
    const emb = layers.embedding({ inputDim: 5, outputDim: 2 });
    const step = new TrainStep({
      inputs: { ids: { shape: [3], dtype: 'int64' } },
      trainable: emb,
      optimizer: optimizers.sgd({ learningRate: 1 }),
      loss: ({ ids }) => F.mean(emb.apply(ids!)),
    });
    emb.build(['batch', 3]);
    const table = Float32Array.from({ length: 10 }, (_, i) => i);
    emb.setWeights([table]);
    await step.run({ ids: new HostTensor(BigInt64Array.from([0n, 0n, 3n]), [1, 3]) });
    // The loss averages 6 values: each use of a row adds 1/6 to the gradient of its 2 entries.
    const expected = Array.from(table, (v, i) => v - (Math.floor(i / 2) === 0 ? 2 / 6 : Math.floor(i / 2) === 3 ? 1 / 6 : 0));
    emb.getWeights()[0]!.toArray().forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `[${i}] ${v} vs ${expected[i]}`));
  });
});
