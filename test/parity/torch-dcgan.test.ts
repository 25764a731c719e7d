/**
 * Parity with PyTorch 1.13 on DCGAN blocks (../shared/fixtures/torch/conv-dcgan-grads):
 *   disc: Conv2d(1,8,4,2,1) BatchNorm2d(8) LeakyReLU(0.2) Conv2d(8,16,4,2,1) LeakyReLU(0.2) Flatten Linear(784,1)
 *   gen:  ConvTranspose2d(16,8,4,2,1) BatchNorm2d(8) ReLU ConvTranspose2d(8,1,4,2,1) Tanh
 *   loss = BCEWithLogits(disc(images), 1) + MSE(gen(h), images)
 * built from raw ops and grad(), in one ONNX graph: outputs, losses, every
 * parameter gradient and the BatchNorm running statistics.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace, type Graph, type Tensor } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { grad } from '../../src/autodiff/grad.js';
import { CompiledGraph, float32, type OrtTensor } from '../../src/runtime/session.js';
import { initialVariables, loadTorchFixture, relativeError, torchLinear, type TorchFixture } from '../helpers/torch-fixtures.js';

const fixture: TorchFixture = await loadTorchFixture('conv-dcgan-grads');
const vars = initialVariables(fixture);
const DCGAN_STRIDE = { strides: 2, pads: 1 } as const;

/** PyTorch BatchNorm2d in training mode; running stats start at PyTorch's defaults (0 and 1). */
function batchNorm2d(g: Graph, x: Tensor, prefix: string) {
  const zeros = g.constant(new Float32Array(8), [8], 'float32');
  const ones = g.constant(new Float32Array(8).fill(1), [8], 'float32');
  return F.batchNorm(x, p(g, `${prefix}.weight`), p(g, `${prefix}.bias`), { training: true, momentum: 0.1, epsilon: 1e-5, runningMean: zeros, runningVar: ones });
}

const p = (g: Graph, name: string): Tensor => {
  const v = vars.get(name);
  if (!v) throw new Error(`no variable ${name}`);
  return g.param(v);
};

function discriminator(g: Graph, images: Tensor) {
  const c0 = F.conv2d(images, p(g, 'disc.0.weight'), p(g, 'disc.0.bias'), DCGAN_STRIDE);
  const bn = batchNorm2d(g, c0, 'disc.1');
  const a = F.leakyRelu(bn.y, 0.2);
  const c3 = F.leakyRelu(F.conv2d(a, p(g, 'disc.3.weight'), p(g, 'disc.3.bias'), DCGAN_STRIDE), 0.2);
  return { logits: torchLinear(F.flatten(c3), p(g, 'disc.6.weight'), p(g, 'disc.6.bias')), bn };
}

function generator(g: Graph, h: Tensor) {
  const t0 = F.conv2dTranspose(h, p(g, 'gen.0.weight'), p(g, 'gen.0.bias'), DCGAN_STRIDE);
  const bn = batchNorm2d(g, t0, 'gen.1');
  return F.tanh(F.conv2dTranspose(F.relu(bn.y), p(g, 'gen.3.weight'), p(g, 'gen.3.bias'), DCGAN_STRIDE));
}

let out: Record<string, OrtTensor>;
const paramNames = fixture.names('grad.');

before(async () => {
  const traced = trace((g) => {
    const images = g.input('images', ['batch', 1, 28, 28]);
    const h = g.input('h', ['batch', 16, 7, 7]);
    const disc = discriminator(g, images);
    const genOut = generator(g, h);
    // BCE-with-logits against target 1 is softplus(−logit); MSE is the mean squared error.
    const lossD = F.mean(F.softplus(F.neg(disc.logits)));
    const lossG = F.mean(F.square(F.sub(genOut, images)));
    const grads = grad(F.add(lossD, lossG), paramNames.map((n) => p(g, n)));
    const outputs: Record<string, Tensor> = {
      disc_logits: disc.logits,
      gen_out: genOut,
      loss_d: lossD,
      loss_g: lossG,
      running_mean: disc.bn.runningMean,
      running_var: disc.bn.runningVar,
    };
    grads.forEach((t, i) => (outputs[`grad.${paramNames[i]}`] = t!));
    return { g, images, h, outputs };
  });
  const cg = await CompiledGraph.compile({ graph: traced.g, inputs: [traced.images, traced.h], outputs: traced.outputs, variables: 'inputs' });
  const feed = (name: string) => float32(fixture.get(name).data, fixture.get(name).shape);
  out = await cg.run({ images: feed('images'), h: feed('h') });
  await cg.release();
});

const data = (name: string): Float32Array => out[name]!.data as Float32Array;

describe('DCGAN blocks match PyTorch', () => {
  test('forward outputs and losses', () => {
    // Forward tolerance from the fixtures README: about 1e-4 absolute; observed ≤ 1e-6.
    assert.ok(relativeError(data('disc_logits'), fixture.get('disc_logits').data) < 1e-5);
    assert.ok(relativeError(data('gen_out'), fixture.get('gen_out').data) < 1e-5);
    assert.ok(Math.abs(data('loss_d')[0]! - fixture.scalar('loss_d')) < 1e-6);
    assert.ok(Math.abs(data('loss_g')[0]! - fixture.scalar('loss_g')) < 1e-6);
  });

  test('BatchNorm running statistics (momentum 0.1, unbiased variance)', () => {
    assert.ok(relativeError(data('running_mean'), fixture.get('bn_running_mean.disc.1').data) < 1e-5);
    assert.ok(relativeError(data('running_var'), fixture.get('bn_running_var.disc.1').data) < 1e-5);
  });

  // A conv bias right before BatchNorm has an analytically zero gradient (the
  // batch mean absorbs it); both PyTorch and Forja give float32 noise (~4e-8),
  // so those two are checked to be ~0 rather than compared relatively.
  const BEFORE_BATCHNORM = new Set(['disc.0.bias', 'gen.0.bias']);

  test('every parameter gradient (relative error < 1e-5 of the tensor scale)', () => {
    assert.equal(paramNames.length, 14);
    for (const name of paramNames) {
      if (BEFORE_BATCHNORM.has(name)) continue;
      const err = relativeError(data(`grad.${name}`), fixture.get(`grad.${name}`).data);
      assert.ok(err < 1e-5, `grad.${name}: relative error ${err.toExponential(2)}`);
    }
  });

  test('gradients of the biases before BatchNorm vanish on both sides', () => {
    for (const name of BEFORE_BATCHNORM) {
      const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
      assert.ok(maxAbs(data(`grad.${name}`)) < 1e-6, `grad.${name} (Forja) should be ~0`);
      assert.ok(maxAbs(fixture.get(`grad.${name}`).data) < 1e-6, `grad.${name} (PyTorch) should be ~0`);
    }
  });
});
