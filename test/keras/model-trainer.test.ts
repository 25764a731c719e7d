import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { earlyStopping, HostTensor, TrainingDivergedError, input, layers, model, optimizers, sequential, setRandomSeed, type Model } from '../../src/index.js';

/** Two Gaussian blobs in 2-D, labels 0/1; separable. */
function blobs(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(2 * n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    const c = y[i] ? 1.5 : -1.5;
    x[2 * i] = c + 0.5 * rng.normal();
    x[2 * i + 1] = -c + 0.5 * rng.normal();
  }
  return { x, y };
}

function classifier(): Model {
  const m = sequential([layers.dense({ units: 8, activation: 'relu', inputShape: [2] }), layers.dense({ units: 1, activation: 'sigmoid' })]);
  m.compile({ optimizer: optimizers.adam({ learningRate: 0.05 }), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return m;
}

describe('fit', () => {
  test('reduces the loss and reaches high accuracy on a separable problem', async () => {
    setRandomSeed(11);
    const { x, y } = blobs(128, 1);
    const m = classifier();
    const history = await m.fit(x, y, { epochs: 8, batchSize: 16, seed: 2 });
    const loss = history.history.loss!;
    assert.deepEqual(history.epoch, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(loss[7]! < loss[0]! / 3, `loss ${loss[0]} → ${loss[7]}`);
    assert.ok(history.history.accuracy![7]! >= 0.95, `accuracy ${history.history.accuracy![7]}`);
    const evaluated = await m.evaluate(x, y);
    assert.ok(evaluated.accuracy! >= 0.95);
  });

  test('is reproducible: same global seed and fit seed, same history and weights', async () => {
    const run = async () => {
      setRandomSeed(5);
      const { x, y } = blobs(40, 3);
      const m = classifier();
      const h = await m.fit(x, y, { epochs: 3, batchSize: 8, seed: 9 });
      return { loss: h.history.loss, weights: m.getWeights().map((w) => w.toArray()) };
    };
    const a = await run();
    const b = await run();
    assert.deepEqual(a, b);
  });

  test('the last partial batch gets its own step; epoch loss is the size-weighted mean', async () => {
    const m = sequential([layers.dense({ units: 1, inputShape: [1], kernelInitializer: 'zeros' })]);
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0 }), loss: 'mse' });
    const steps: number[] = [];
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const y = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 4]);
    const h = await m.fit(x, y, { batchSize: 4, shuffle: false, callbacks: [{ onBatchEnd: (_i, logs) => void steps.push(logs.loss!) }] });
    // Zero predictions: batch losses are mean(y²): 1, 1, (1 + 16)/2.
    assert.deepEqual(steps, [1, 1, 8.5]);
    assert.equal(h.history.loss![0], (4 * 1 + 4 * 1 + 2 * 8.5) / 10);
    assert.deepEqual(h.params, { epochs: 1, steps: 3, batchSize: 4, samples: 10 });
  });

  test('stepsPerExecution: the same history and weights, batch callbacks once per run, the partial batch on its own', async () => {
    const run = async (stepsPerExecution: number) => {
      setRandomSeed(5);
      const { x, y } = blobs(44, 3); // 5 full batches of 8 and one of 4
      const m = sequential([layers.dense({ units: 8, activation: 'relu', inputShape: [2] }), layers.dense({ units: 1, activation: 'sigmoid' })]);
      m.compile({ optimizer: optimizers.adam({ learningRate: 0.05 }), loss: 'binaryCrossentropy', metrics: ['accuracy'], stepsPerExecution });
      const ends: number[] = [];
      const h = await m.fit(x, y, { epochs: 2, batchSize: 8, seed: 9, callbacks: [{ onBatchEnd: (batch) => void ends.push(batch) }] });
      return { history: h.history, weights: m.getWeights().map((w) => w.toArray()), ends };
    };
    const one = await run(1);
    const runs = await run(2);
    assert.deepEqual(runs.history, one.history);
    assert.deepEqual(runs.weights, one.weights);
    assert.deepEqual(one.ends, [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    assert.deepEqual(runs.ends, [1, 3, 4, 5, 1, 3, 4, 5]);
    const m = classifier();
    assert.throws(() => m.compile({ optimizer: 'adam', loss: 'mse', stepsPerExecution: 0 }), /compile: stepsPerExecution must be an integer ≥ 1. Received: stepsPerExecution=0/);
  });

  test('validationSplit holds out the last rows; val_ keys are evaluated on them', async () => {
    setRandomSeed(3);
    const { x, y } = blobs(50, 4);
    const m = classifier();
    const h = await m.fit(x, y, { epochs: 2, batchSize: 10, validationSplit: 0.2, seed: 1 });
    assert.equal(h.params.samples, 40);
    const val = await m.evaluate(new HostTensor(x.slice(80), [10, 2]), y.slice(40));
    assert.ok(Math.abs(h.history.val_loss![1]! - val.loss) < 1e-6);
    assert.ok(Math.abs(h.history.val_accuracy![1]! - val.accuracy!) < 1e-6);
  });

  test('validationData is evaluated after every epoch', async () => {
    const { x, y } = blobs(30, 5);
    const v = blobs(12, 6);
    const m = classifier();
    const h = await m.fit(x, y, { epochs: 2, batchSize: 8, validationData: [v.x, v.y] });
    assert.equal(h.history.val_loss!.length, 2);
  });

  test('evaluate weights batches by their size', async () => {
    const { x, y } = blobs(23, 7);
    const m = classifier();
    const whole = await m.evaluate(x, y, { batchSize: 100 });
    const chunked = await m.evaluate(x, y, { batchSize: 5 });
    assert.ok(Math.abs(whole.loss - chunked.loss) < 1e-6);
    assert.ok(Math.abs(whole.accuracy! - chunked.accuracy!) < 1e-6);
  });

  test('NaN guard: stops naming the epoch and step, weights left at the last good step', async () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const y = Float32Array.from([2, 4, 6, 8, Number.NaN, 12, 14, 16]);
    const build = () => {
      const m = sequential([layers.dense({ units: 1, inputShape: [1], kernelInitializer: 'ones' })]);
      m.compile({ optimizer: optimizers.sgd({ learningRate: 0.01 }), loss: 'mse' });
      return m;
    };
    const poisoned = build();
    await assert.rejects(poisoned.fit(x, y, { epochs: 2, batchSize: 2, shuffle: false }), (err: unknown) => err instanceof TrainingDivergedError && err.position.epoch === 0 && err.position.step === 2 && /epoch 1, step 3 .*loss is NaN; the weights were not updated/.test(err.message));
    const clean = build();
    await clean.fit(x.slice(0, 4), y.slice(0, 4), { epochs: 1, batchSize: 2, shuffle: false });
    assert.deepEqual(poisoned.getWeights().map((w) => w.toArray()), clean.getWeights().map((w) => w.toArray()));
    assert.ok(poisoned.getWeights().every((w) => w.toArray().every(Number.isFinite)));
  });

  test('callbacks see every epoch; stopTraining ends fit early', async () => {
    const { x, y } = blobs(16, 8);
    const m = classifier();
    const seen: number[] = [];
    const h = await m.fit(x, y, {
      epochs: 10,
      batchSize: 8,
      callbacks: [{ onEpochEnd: (epoch) => {
        seen.push(epoch);
        if (epoch === 2) m.stopTraining = true;
      } }],
    });
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(h.epoch.length, 3);
  });

  test('earlyStopping stops when the monitored value stops improving', async () => {
    const m = sequential([layers.dense({ units: 1, inputShape: [1] })]);
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0 }), loss: 'mse' });
    const h = await m.fit(Float32Array.from([1, 2]), Float32Array.from([3, 4]), { epochs: 20, callbacks: [earlyStopping({ monitor: 'loss', patience: 2 })] });
    assert.equal(h.epoch.length, 4);
  });

  test('sparse labels with a softmax output and accuracy', async () => {
    setRandomSeed(21);
    const { x, y } = blobs(64, 9);
    const inp = input({ shape: [2] });
    const m = model({ inputs: inp, outputs: layers.dense({ units: 2, activation: 'softmax' }).apply(inp) });
    m.compile({ optimizer: optimizers.adam({ learningRate: 0.1 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = await m.fit(x, y, { epochs: 10, batchSize: 16, seed: 4 });
    assert.ok(h.history.accuracy![9]! >= 0.95, `accuracy ${h.history.accuracy![9]}`);
  });

  test('errors: fit before compile, mismatched rows', async () => {
    const m = sequential([layers.dense({ units: 1, inputShape: [2] })], { name: 'not_compiled' });
    await assert.rejects(async () => m.fit(new Float32Array(4), new Float32Array(2)), /Sequential 'not_compiled'\.fit: the model must be compiled first/);
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    await assert.rejects(m.fit(new HostTensor(new Float32Array(6), [3, 2]), new HostTensor(new Float32Array(2), [2, 1]), {}), /target 0 has 2 rows but the inputs have 3/);
  });
});

describe('fit: data types', () => {
  test('typed arrays it cannot feed, or of the wrong dtype, are refused naming what was received', async () => {
    const m = sequential([layers.dense({ units: 1, inputShape: [2] })]);
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const y = Float32Array.of(1, 2);
    await assert.rejects(m.fit(Int32Array.of(1, 2, 3, 4), y), /input 0 is int32 data \(Int32Array\) but the model's input .* takes float32/);
    await assert.rejects(m.fit(BigInt64Array.of(1n, 2n, 3n, 4n), y), /input 0 is int64 data \(BigInt64Array\)/);
    await assert.rejects(m.fit(Int8Array.of(1, 2, 3, 4) as never, y), /Int8Array is not a supported data type/);
    await assert.rejects(m.fit([1, 2, 3, 4] as never, y), /expected a typed array or a HostTensor .* received an array of numbers/);
    const h = await m.fit(Float32Array.of(1, 2, 3, 4), y, { epochs: 1 });
    assert.equal(h.epoch.length, 1);
  });
});
