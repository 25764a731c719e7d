/**
 * Keras-style `runLayerTest`: wraps a layer in a functional model and checks
 * its output shape (symbolic and at run time), its parameter count, a
 * save/load round trip (same config, same outputs) and that one training
 * step reduces the loss. Layers without trainable weights get a Dense in
 * front (same width), so the step also exercises the layer's gradient.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DType } from '../../src/core/dtype.js';
import { Rng } from '../../src/core/rng.js';
import { HostTensor, input, layers, loadModel, model, optimizers, saveModel, setRandomSeed, type Layer } from '../../src/index.js';

export interface LayerTestExpectations {
  /** Per-example output shape (no batch axis). */
  outputShape: readonly number[];
  /** Total parameters of the layer (trainable and not). */
  params: number;
  /** Defaults to `params`. */
  trainableParams?: number;
  inputDtype?: DType;
  /** Inputs are drawn uniformly from [0, inputMax) (integers for int inputs); default 1. */
  inputMax?: number;
  /**
   * How the training check measures the loss: 'evaluate' (inference mode,
   * before and after one step; default) or 'trainOnBatch' (the losses of two
   * consecutive steps, for layers whose inference differs from training, like BatchNorm).
   */
  trainingCheck?: 'evaluate' | 'trainOnBatch';
  /**
   * Seeds the unseeded initializers, so a layer's weights (and so the test) are the same
   * every run: an unlucky draw can, say, leave a ReLU conv dead and its step without effect.
   */
  seed?: number;
}

const BATCH = 4;

export async function runLayerTest(
  layerFactory: () => Layer,
  inputShape: readonly number[],
  expected: LayerTestExpectations,
): Promise<void> {
  setRandomSeed(expected.seed ?? 1);
  const layer = layerFactory();
  const inp = input({ shape: inputShape, dtype: expected.inputDtype ?? 'float32' });
  const out = layer.apply(inp);
  const m = model({ inputs: inp, outputs: out });

  assert.deepEqual(out.shape, ['batch', ...expected.outputShape], `${layer.where}: symbolic output shape`);
  assert.equal(layer.countParams(), expected.params, `${layer.where}: parameter count`);
  const trainable = layer.trainableWeights.reduce((n, v) => n + v.size, 0);
  assert.equal(trainable, expected.trainableParams ?? expected.params, `${layer.where}: trainable parameter count`);

  const x = randomInput([BATCH, ...inputShape], expected.inputDtype ?? 'float32', expected.inputMax ?? 1);
  const y = await m.predict(x);
  assert.deepEqual(y.shape, [BATCH, ...expected.outputShape], `${layer.where}: runtime output shape`);
  assert.ok(y.toArray().every(Number.isFinite), `${layer.where}: outputs are finite`);

  await checkRoundTrip(m, layer, x, y);
  await checkTrainingStep(layer, inp.shape.slice(1) as number[], expected, x);
}

async function checkRoundTrip(m: ReturnType<typeof model>, layer: Layer, x: HostTensor, y: HostTensor): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'forja-layer-test-'));
  try {
    await saveModel(m, dir);
    const loaded = await loadModel(dir);
    assert.deepEqual(loaded.getLayer(layer.name).getConfig(), layer.getConfig(), `${layer.where}: config survives save/load`);
    const again = await loaded.predict(x);
    assert.deepEqual(again.toArray(), y.toArray(), `${layer.where}: outputs survive save/load`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkTrainingStep(layer: Layer, inputShape: number[], expected: LayerTestExpectations, x: HostTensor): Promise<void> {
  const inp = input({ shape: inputShape, dtype: expected.inputDtype ?? 'float32' });
  // A weightless layer gets a trainable Dense of the same width in front of it.
  const hasWeights = layer.trainableWeights.length > 0;
  const front = hasWeights ? inp : layers.dense({ units: inputShape[inputShape.length - 1]! }).apply(inp);
  const m = model({ inputs: inp, outputs: layer.apply(front) });
  m.compile({ optimizer: optimizers.sgd({ learningRate: 0.01 }), loss: 'meanSquaredError' });
  const target = randomInput([BATCH, ...expected.outputShape], 'float32', 1, 7);
  if ((expected.trainingCheck ?? 'evaluate') === 'evaluate') {
    const before = (await m.evaluate(x, target)).loss;
    await m.trainOnBatch(x, target);
    const after = (await m.evaluate(x, target)).loss;
    assert.ok(after < before, `${layer.where}: one SGD step should reduce the loss (${before} → ${after})`);
  } else {
    const first = (await m.trainOnBatch(x, target)).loss;
    const second = (await m.trainOnBatch(x, target)).loss;
    assert.ok(second < first, `${layer.where}: the second step's loss should be lower (${first} → ${second})`);
  }
}

/** Uniform values in [0, max): integers for int dtypes. */
export function randomInput(shape: readonly number[], dtype: DType, max = 1, seed = 3): HostTensor {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'int64') return new HostTensor(BigInt64Array.from({ length: size }, () => BigInt(rng.int(max))), shape);
  if (dtype !== 'float32') throw new Error(`randomInput: unsupported dtype ${dtype}`);
  return new HostTensor(Float32Array.from({ length: size }, () => rng.next() * max), shape);
}
