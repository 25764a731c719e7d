/**
 * Parity with PyTorch 1.13 on a VAE (../shared/fixtures/torch/vae-grads):
 *   enc Linear(784,64) ReLU; mu, logvar Linear(64,8); z = mu + exp(logvar/2)·ε;
 *   dec Linear(8,64) ReLU Linear(64,784) Sigmoid
 *   loss = (Σ BCE(x̂, x) + KL) / batch, ε supplied by the fixture.
 * Built from raw ops and grad(); every parameter gradient is compared.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace, type Graph, type Tensor } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { grad } from '../../src/autodiff/grad.js';
import { CompiledGraph, float32, type OrtTensor } from '../../src/runtime/session.js';
import { initialVariables, loadTorchFixture, relativeError, torchLinear } from '../helpers/torch-fixtures.js';

const fixture = await loadTorchFixture('vae-grads');
const vars = initialVariables(fixture);
const paramNames = fixture.names('grad.');

const linear = (g: Graph, x: Tensor, name: string): Tensor =>
  torchLinear(x, g.param(vars.get(`${name}.weight`)!), g.param(vars.get(`${name}.bias`)!));

let out: Record<string, OrtTensor>;

before(async () => {
  const traced = trace((g) => {
    const x = g.input('x', ['batch', 784]);
    const eps = g.input('eps', ['batch', 8]);
    const hidden = F.relu(linear(g, x, 'enc'));
    const mu = linear(g, hidden, 'mu');
    const logvar = linear(g, hidden, 'logvar');
    const z = F.add(mu, F.mul(F.exp(F.mul(logvar, 0.5)), eps));
    // The decoder's last Linear gives logits; BCE(σ(l), x) = softplus(l) − x·l, stable
    // and equal to PyTorch's BCELoss on the sigmoid output away from its log clamp at −100.
    const logits = linear(g, F.relu(linear(g, z, 'dec1')), 'dec2');
    const batch = F.cast(F.gather(F.shapeOf(x), F.int64s([0])), 'float32');
    const bce = F.div(F.sum(F.sub(F.softplus(logits), F.mul(x, logits))), batch);
    const kl = F.div(F.mul(F.sum(F.sub(F.sub(F.add(logvar, 1), F.square(mu)), F.exp(logvar))), -0.5), batch);
    const loss = F.add(bce, kl);
    const grads = grad(loss, paramNames.map((n) => g.param(vars.get(n)!)));
    const outputs: Record<string, Tensor> = { loss, bce, kl };
    grads.forEach((t, i) => (outputs[`grad.${paramNames[i]}`] = t!));
    return { g, x, eps, outputs };
  });
  const cg = await CompiledGraph.compile({ graph: traced.g, inputs: [traced.x, traced.eps], outputs: traced.outputs, variables: 'inputs' });
  const feed = (name: string) => float32(fixture.get(name).data, fixture.get(name).shape);
  out = await cg.run({ x: feed('x'), eps: feed('eps') });
  await cg.release();
});

const value = (name: string): number => (out[name]!.data as Float32Array)[0]!;

describe('VAE matches PyTorch', () => {
  test('loss terms', () => {
    for (const key of ['loss', 'bce', 'kl']) {
      const rel = Math.abs(value(key) - fixture.scalar(key)) / Math.abs(fixture.scalar(key));
      assert.ok(rel < 1e-5, `${key}: ${value(key)} vs ${fixture.scalar(key)} (relative ${rel.toExponential(2)})`);
    }
  });

  test('every parameter gradient (relative error < 1e-5 of the tensor scale)', () => {
    assert.equal(paramNames.length, 10);
    for (const name of paramNames) {
      const err = relativeError(out[`grad.${name}`]!.data as Float32Array, fixture.get(`grad.${name}`).data);
      assert.ok(err < 1e-5, `grad.${name}: relative error ${err.toExponential(2)}`);
    }
  });
});
