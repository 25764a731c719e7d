import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { grad } from '../../../src/autodiff/grad.js';
import { trace } from '../../../src/core/graph.js';
import { loadF32, type F32Tensor } from '../../../src/io/safetensors.js';
import { causalLmCrossentropy } from '../../../src/losses/index.js';
import { createLora, loraDropout, type LoraModel } from '../../../src/models/lora/adapter.js';
import { loadLoraAdapter } from '../../../src/models/lora/peft-io.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { AdamW } from '../../../src/optim/index.js';
import { CompiledGraph, int64 } from '../../../src/runtime/session.js';
import { StepRunner } from '../../../src/train/step-runner.js';
import { assertClose, maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { ADAPTER_DIR, gpt2Tiny, logitsOf, randomLlama } from './helpers.js';

interface TrainStepGolden {
  input_ids: number[];
  labels: number[];
  loss: number;
  trainable: string[];
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
}

/** The golden's names keep PEFT's in-memory `.default.` adapter segment. */
const goldenName = (variable: string): string => variable.replace(/\.(lora_[AB])\.weight$/, '.$1.default.weight');

/** ‖a − b‖ / ‖b‖. */
function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

describe('createLora', () => {
  let base: CausalLmModel;
  before(async () => {
    base = (await gpt2Tiny()).model;
  });

  test("A is [r, in] kaiming-uniform (bound 1/√in) and B is [out, r] zero, as PEFT initialises them; the seed decides A", () => {
    const lora = createLora(base, { r: 4, lora_alpha: 8 }, { seed: 3 });
    const layer = lora.layers.get('transformer.h.0.attn.c_attn')!;
    assert.deepEqual([layer.a.shape, layer.b.shape], [[4, 48], [144, 4]]);
    assert.equal(layer.a.name, 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight');
    assert.equal(layer.scale, 2);
    const bound = 1 / Math.sqrt(48);
    assert.ok(layer.a.value.every((x) => Math.abs(x) <= bound));
    assert.ok(Math.max(...layer.a.value.map(Math.abs)) > 0.9 * bound, 'A spans the kaiming bound');
    assert.ok(layer.b.value.every((x) => x === 0));
    const again = createLora(base, { r: 4 }, { seed: 3 }).layers.get('transformer.h.0.attn.c_attn')!;
    const other = createLora(base, { r: 4 }, { seed: 4 }).layers.get('transformer.h.0.attn.c_attn')!;
    assert.deepEqual(again.a.value, layer.a.value);
    assert.notDeepEqual(other.a.value, layer.a.value);
    const gaussian = createLora(base, { r: 4, init_lora_weights: 'gaussian' }).layers.get('transformer.h.0.attn.c_attn')!;
    assert.ok(gaussian.b.value.every((x) => x === 0) && gaussian.a.value.some((x) => Math.abs(x) > bound), 'gaussian A has std 1/r = 0.25');
  });

  test('the base is held once and frozen: the adapted model shares its Variables; only A and B train', () => {
    const lora = createLora(base, { r: 2, target_modules: ['c_attn', 'c_fc'] });
    for (const [name, v] of base.weights) assert.equal(lora.weights.get(name), v, `${name} is the base's own Variable`);
    assert.deepEqual(
      lora.trainableVariables.map((v) => v.name),
      ['h.0.attn.c_attn', 'h.0.mlp.c_fc', 'h.1.attn.c_attn', 'h.1.mlp.c_fc'].flatMap((m) => [`base_model.model.transformer.${m}.lora_A.weight`, `base_model.model.transformer.${m}.lora_B.weight`]),
    );
    assert.equal(lora.trainableParameterCount, 2 * (2 * (48 + 144) + 2 * (48 + 192)));
    const baseCount = [...base.weights.values()].reduce((n, v) => n + v.size, 0);
    assert.equal(lora.parameterCount, baseCount + lora.trainableParameterCount);
  });

  test('a fresh adapter (B = 0) computes the base function', async () => {
    const lora = createLora(base, { target_modules: 'all-linear' }, { seed: 1 });
    assert.ok(maxAbsDiff(await logitsOf(lora), await logitsOf(base)) < 1e-5);
  });

  test('lora_dropout draws one seeded mask per adapted map, and none at rate 0', () => {
    assert.equal(loraDropout(0, 1), undefined);
    const drop = loraDropout(0.1, 7)!;
    const seeds = trace((g) => {
      const x = g.input('x', [2, 3]);
      return [drop(x), drop(x)].map((t) => (t.source.kind === 'node' ? t.source.node.attrs.seed : undefined));
    });
    assert.equal(seeds.length, 2);
    assert.notEqual(seeds[0], seeds[1]);
  });
});

describe('gpt2-tiny-lora parity (PEFT 0.21)', () => {
  let base: CausalLmModel;
  let golden: Map<string, F32Tensor>;
  before(async () => {
    base = (await gpt2Tiny()).model;
    golden = await loadF32(fixturePath('gpt2-tiny-lora', 'golden.safetensors'));
  });

  // 1e-4 absolute is the fixtures' float32 forward tolerance: both sides sum in float32 in different
  // orders over 48-wide rows and a 50257-wide head (measured: 2.2e-5; without the adapter the logits differ by 11).
  test('logits with the adapter unmerged match logits_with_adapter within 1e-4', async () => {
    const lora = await loadLoraAdapter(ADAPTER_DIR, base);
    const expected = golden.get('logits_with_adapter')!.data;
    assertClose(await logitsOf(lora), expected, 1e-4, 'unmerged logits');
    assert.ok(maxAbsDiff(await logitsOf(base), expected) > 1, 'the adapter changes the logits');
  });

  test('one AdamW step over the adapters (prompt masked, labels shifted) matches the loss, gradients and updated A/B', async () => {
    const step = JSON.parse(readFileSync(fixturePath('gpt2-tiny-lora-trainstep', 'golden.json'), 'utf8')) as TrainStepGolden;
    const trainstep = await loadF32(fixturePath('gpt2-tiny-lora-trainstep', 'golden.safetensors'));
    const lora = await loadLoraAdapter(ADAPTER_DIR, base);
    assert.deepEqual(lora.trainableVariables.map((v) => goldenName(v.name)).sort(), [...step.trainable].sort());
    const T = step.input_ids.length;

    // Gradients, from the same forward and loss the step runs.
    const traced = trace((g) => {
      const ids = g.input('input_ids', [1, T], 'int64');
      const labels = g.input('labels', [1, T], 'int64');
      const loss = causalLmCrossentropy(labels, lora.forward({ inputIds: ids }).logits);
      const grads = grad(loss, lora.trainableVariables.map((v) => g.param(v)));
      return { g, ids, labels, outputs: { loss, ...Object.fromEntries(grads.map((t, i) => [`grad_${i}`, t!])) } };
    });
    const cg = await CompiledGraph.compile({ graph: traced.g, inputs: [traced.ids, traced.labels], outputs: traced.outputs, variables: 'inputs' });
    const out = await cg.run({ input_ids: int64(step.input_ids, [1, T]), labels: int64(step.labels, [1, T]) }).finally(() => cg.release());
    lora.trainableVariables.forEach((v, i) => {
      const expected = trainstep.get(`grad.${goldenName(v.name)}`)!.data;
      const err = relativeL2(out[`grad_${i}`]!.data as Float32Array, expected);
      assert.ok(err < 1e-5, `grad ${v.name}: relative error ${err}`);
    });

    const { lr, betas, eps, weight_decay } = step.optimizer;
    const optimizer = new AdamW({ learningRate: lr, beta1: betas[0], beta2: betas[1], epsilon: eps, weightDecay: weight_decay });
    const runner = await StepRunner.compile({
      name: 'lora_step',
      inputs: [
        { name: 'input_ids', shape: [1, T], dtype: 'int64' },
        { name: 'labels', shape: [1, T], dtype: 'int64' },
      ],
      forward: ({ input_ids, labels }) => ({ loss: causalLmCrossentropy(labels!, lora.forward({ inputIds: input_ids! }).logits), outputs: {} }),
      trainable: () => lora.trainableVariables,
      optimizer,
    });
    const frozen = new Map([...base.weights].map(([n, v]) => [n, v.value.slice()]));
    const before = lora.trainableVariables.map((v) => v.value.slice());
    try {
      (runner.buffers.input_ids as BigInt64Array).set(step.input_ids.map(BigInt));
      (runner.buffers.labels as BigInt64Array).set(step.labels.map(BigInt));
      const { loss, committed } = await runner.run();
      assert.ok(committed);
      assert.ok(Math.abs(loss - step.loss) < 1e-5 * step.loss, `loss ${loss} vs ${step.loss}`);
    } finally {
      await runner.release();
    }
    lora.trainableVariables.forEach((v, i) => {
      const expected = trainstep.get(`after_adamw.${goldenName(v.name)}`)!.data;
      assert.ok(relativeL2(v.value, expected) < 1e-5, `${v.name} after the step`);
      // The update itself (≈ lr per entry on a first Adam step), not just the value it lands on.
      const update = v.value.map((x, j) => x - before[i]![j]!);
      const expectedUpdate = expected.map((x, j) => x - before[i]![j]!);
      assert.ok(relativeL2(update, expectedUpdate) < 1e-4, `${v.name} update: relative error ${relativeL2(update, expectedUpdate)}`);
    });
    for (const [name, v] of base.weights) assert.deepEqual(v.value, frozen.get(name), `${name} stays frozen`);
    assert.equal(optimizer.variables.length, 2 * lora.trainableVariables.length, 'AdamW moments exist for the adapters only');
  });
});

describe('LoRA on the Llama family', () => {
  test('GQA projections and an untied head take adapters; the update uses nn.Linear sizes', async () => {
    const llama = randomLlama();
    const lora: LoraModel = createLora(llama, { r: 3, target_modules: 'all-linear', init_lora_weights: false }, { seed: 5 });
    assert.deepEqual(lora.layers.get('model.layers.0.self_attn.k_proj')!.b.shape, [16, 3]);
    assert.deepEqual(lora.layers.get('model.layers.1.mlp.down_proj')!.a.shape, [3, 96]);
    assert.ok(maxAbsDiff(await logitsOf(lora, [1, 2, 3, 4]), await logitsOf(llama, [1, 2, 3, 4])) > 1e-3, 'random B changes the function');
  });
});
