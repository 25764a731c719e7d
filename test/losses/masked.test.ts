import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad } from '../../src/autodiff/grad.js';
import { trace, type Tensor } from '../../src/core/graph.js';
import { causalLmCrossentropy, maskedCrossentropy, type MaskedCrossentropyOptions } from '../../src/losses/index.js';
import { CompiledGraph, float32, int64 } from '../../src/runtime/session.js';

type Loss = (labels: Tensor, logits: Tensor, opts?: MaskedCrossentropyOptions) => Tensor;

/** The loss and d loss / d logits for labels [B, T] and logits [B, T, V]. */
async function run(loss: Loss, labels: number[], logits: number[], shape: [number, number, number], opts?: MaskedCrossentropyOptions) {
  const [B, T, V] = shape;
  const { g, l, x, value, dx } = trace((g) => {
    const l = g.input('labels', [B, T], 'int64');
    const x = g.input('logits', [B, T, V]);
    const value = loss(l, x, opts);
    return { g, l, x, value, dx: value.rank === 0 ? grad(value, [x])[0]! : value };
  });
  const cg = await CompiledGraph.compile({ graph: g, inputs: [l, x], outputs: { value, dx }, variables: 'inputs' });
  try {
    const out = await cg.run({ labels: int64(labels, [B, T]), logits: float32(Float32Array.from(logits), [B, T, V]) });
    return { value: Array.from(out.value!.data as Float32Array), grad: Array.from(out.dx!.data as Float32Array) };
  } finally {
    await cg.release();
  }
}

/** −log softmax(row)[label], in float64. */
function nll(row: number[], label: number): number {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  return lse - row[label]!;
}

const LOGITS = [0.5, -1, 2, 0.1, 3, -0.5, 1.5, 1.5, 0, -2, 0.7, 0.2]; // [1, 4, 3]
const row = (t: number) => LOGITS.slice(3 * t, 3 * t + 3);
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

describe('maskedCrossentropy', () => {
  test('the mean is over the counted positions only (-100 ignored, as PyTorch)', async () => {
    const { value, grad: g } = await run(maskedCrossentropy, [2, -100, 0, 1], LOGITS, [1, 4, 3]);
    near(value[0]!, (nll(row(0), 2) + nll(row(2), 0) + nll(row(3), 1)) / 3, 'loss');
    assert.deepEqual(g.slice(3, 6), [0, 0, 0], 'an ignored position gets no gradient');
    // d/dx of −log softmax(x)[y] / 3 is (softmax(x) − onehot(y)) / 3.
    const p = row(0).map((x) => Math.exp(x - Math.max(...row(0))));
    const z = p.reduce((a, b) => a + b, 0);
    near(g[2]!, (p[2]! / z - 1) / 3, 'gradient at the label');
  });

  test("'sum' and 'none' reductions; a custom ignore index; nothing counted gives 0, not NaN", async () => {
    const sum = await run(maskedCrossentropy, [2, -100, 0, 1], LOGITS, [1, 4, 3], { reduction: 'sum' });
    near(sum.value[0]!, nll(row(0), 2) + nll(row(2), 0) + nll(row(3), 1), 'sum');
    const none = await run(maskedCrossentropy, [2, 1, 0, 1], LOGITS, [1, 4, 3], { reduction: 'none', ignoreIndex: 1 });
    assert.equal(none.value.length, 4);
    near(none.value[0]!, nll(row(0), 2), 'position 0');
    assert.equal(none.value[1], 0);
    const nothing = await run(maskedCrossentropy, [-100, -100, -100, -100], LOGITS, [1, 4, 3]);
    assert.deepEqual(nothing.value, [0]);
  });

  test('labels must have one entry per row of logits', () => {
    assert.throws(() => trace((g) => maskedCrossentropy(g.input('l', [1, 4, 3], 'int64'), g.input('x', [1, 4, 3]))), /labels of shape \[1, 4, 3\] do not match logits of shape \[1, 4, 3\]/);
  });
});

describe('causalLmCrossentropy', () => {
  test("shifts labels as transformers does: the logits at t are scored against label t + 1, the last position against nothing", async () => {
    const labels = [-100, 2, 0, 1];
    const { value, grad: g } = await run(causalLmCrossentropy, labels, LOGITS, [1, 4, 3]);
    near(value[0]!, (nll(row(0), 2) + nll(row(1), 0) + nll(row(2), 1)) / 3, 'shifted loss');
    assert.deepEqual(g.slice(9, 12), [0, 0, 0], 'the last position predicts nothing');
  });

  test('every row of a batch is shifted on its own', async () => {
    const logits = [...LOGITS, ...LOGITS.map((x) => -x)];
    const { value } = await run(causalLmCrossentropy, [0, 1, -100, 2, 5, 0, 0, -100], logits, [2, 4, 3]);
    const neg = (t: number) => row(t).map((x) => -x);
    // Row 0 scores (0→1, 2→2); row 1 (0→0, 1→0); the label 5 at position 0 of row 1 is never a target.
    near(value[0]!, (nll(row(0), 1) + nll(row(2), 2) + nll(neg(0), 0) + nll(neg(1), 0)) / 4, 'batch loss');
  });
});
