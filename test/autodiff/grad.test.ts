import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { currentGraph, GraphError, nonDifferentiable, trace, type Attrs, type OpDef, type Tensor } from '../../src/core/graph.js';
import { sameAsInput } from '../../src/core/ops/util.js';
import { Variable } from '../../src/core/variable.js';
import * as F from '../../src/core/ops/index.js';
import { grad, unbroadcast } from '../../src/autodiff/grad.js';
import { CompiledGraph, float32, type OrtTensor } from '../../src/runtime/session.js';

/** Trace, differentiate and run once; inputs are given as [shape, values]. */
async function gradients(
  inputs: Record<string, [number[], number[]]>,
  build: (ins: Record<string, Tensor>) => Tensor,
  wrt: string[] = Object.keys(inputs),
): Promise<Record<string, OrtTensor>> {
  const { g, ins, loss, grads } = trace((g) => {
    const ins: Record<string, Tensor> = {};
    for (const [name, [shape]] of Object.entries(inputs)) ins[name] = g.input(name, shape);
    const loss = build(ins);
    return { g, ins, loss, grads: grad(loss, wrt.map((n) => ins[n]!)) };
  });
  const outputs: Record<string, Tensor> = { loss };
  grads.forEach((t, i) => {
    assert.ok(t, `no gradient for ${wrt[i]}`);
    outputs[`d_${wrt[i]}`] = t;
  });
  const cg = await CompiledGraph.compile({ graph: g, inputs: Object.values(ins), outputs, variables: 'inputs' });
  const feeds = Object.fromEntries(Object.entries(inputs).map(([n, [shape, v]]) => [n, float32(Float32Array.from(v), shape)]));
  const out = await cg.run(feeds);
  await cg.release();
  return out;
}

const data = (t: OrtTensor | undefined): number[] => Array.from(t!.data as Float32Array);
const near = (actual: number[], expected: number[], tol = 1e-5): void => {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)), `[${i}] ${v} vs ${expected[i]}`));
};

describe('grad: accumulation', () => {
  test('a tensor used twice by one op and by two ops accumulates both contributions', async () => {
    const xs = [0.5, -1, 2];
    // L = Σ (x·x + 3x) → dL/dx = 2x + 3
    const out = await gradients({ x: [[3], xs] }, ({ x }) => F.sum(F.add(F.mul(x!, x!), F.mul(x!, 3))));
    near(data(out.d_x), xs.map((v) => 2 * v + 3));
  });

  test('a shared intermediate feeding two branches (diamond)', async () => {
    const xs = [0.1, 0.7, -0.4, 1.2];
    // y = eˣ; L = Σ (y² + y·x) → dL/dx = 2y² + y·(x + 1)
    const out = await gradients({ x: [[4], xs] }, ({ x }) => {
      const y = F.exp(x!);
      return F.sum(F.add(F.mul(y, y), F.mul(y, x!)));
    });
    near(data(out.d_x), xs.map((v) => 2 * Math.exp(2 * v) + Math.exp(v) * (v + 1)));
  });

  test('the same variable used in two layers gets the sum of both gradients', async () => {
    const w = new Variable('w', [2, 2], Float32Array.from([1, 2, 3, 4]));
    const { g, x, dw } = trace((g) => {
      const x = g.input('x', [1, 2]);
      const loss = F.sum(F.matmul(F.matmul(x, g.param(w)), g.param(w)));
      return { g, x, dw: grad(loss, [g.param(w)])[0]! };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { dw }, variables: 'inputs' });
    const out = await cg.run({ x: float32(Float32Array.from([1, 1]), [1, 2]) });
    // L = x W W 1. dL/dW = xᵀ(W1)ᵀ + (xW)ᵀ 1ᵀ with x = [1,1]: W1 = [3,7], xW = [4,6].
    near(data(out.dw), [3 + 4, 7 + 4, 3 + 6, 7 + 6]);
    await cg.release();
  });
});

describe('grad: unbroadcast', () => {
  const a = [1, 2, 3, 4, 5, 6];
  test('over a leading axis ([3] + [2,3]) and a size-1 axis ([2,1] + [2,3])', async () => {
    const cot = [1, 10, 100, 1000, 10000, 100000];
    const out = await gradients(
      { a: [[2, 3], a], row: [[3], [0, 0, 0]], col: [[2, 1], [0, 0]], s: [[], [0]], c: [[2, 3], cot] },
      ({ a, row, col, s, c }) => F.sum(F.mul(F.add(F.add(F.add(a!, row!), col!), s!), c!)),
      ['a', 'row', 'col', 's'],
    );
    assert.deepEqual(out.d_row!.dims, [3]);
    assert.deepEqual(out.d_col!.dims, [2, 1]);
    assert.deepEqual(out.d_s!.dims, []);
    near(data(out.d_a), cot);
    near(data(out.d_row), [1001, 10010, 100100]);
    near(data(out.d_col), [111, 111000]);
    near(data(out.d_s), [111111]);
  });

  test('unbroadcast keeps the input shape: [1,3,1] from [2,3,4]', () => {
    trace((g) => {
      const big = g.input('g', [2, 3, 4]);
      assert.deepEqual(unbroadcast(big, g.input('x', [1, 3, 1])).shape, [1, 3, 1]);
      assert.deepEqual(unbroadcast(big, g.input('y', [3, 1])).shape, [3, 1]);
      assert.equal(unbroadcast(big, g.input('z', [2, 3, 4])), big);
    });
  });
});

describe('grad: errors and edge cases', () => {
  test('a non-differentiable op on the path is an error naming the op and scope', () => {
    trace((g) => {
      const x = g.input('x', [3]);
      const loss = g.scope('head', () => F.sum(F.prod(x, [0], true)));
      assert.throws(() => grad(loss, [x]), (e: Error) => e instanceof GraphError && e.message === 'grad: op ReduceProd in head is not differentiable');
    });
  });

  test('integer side paths (argmax) do not block the gradient', async () => {
    const out = await gradients({ x: [[4], [0.1, 0.9, 0.3, 0.2]] }, ({ x }) => F.sum(F.mul(x!, F.cast(F.argmax(x!), 'float32'))));
    near(data(out.d_x), [1, 1, 1, 1]);
  });

  test('loss must be a scalar; unrelated tensors get null', () => {
    trace((g) => {
      const x = g.input('x', [3]);
      const other = g.input('other', [3]);
      assert.throws(() => grad(F.mul(x, 2), [x]), /grad: loss must be a scalar, got shape \[3\]/);
      assert.deepEqual(grad(F.sum(x), [other]), [null]);
    });
  });

  test('an explicit seed gives a vector-Jacobian product', async () => {
    const { g, x, dx } = trace((g) => {
      const x = g.input('x', [3]);
      const seed = g.constant(Float32Array.from([1, 2, 3]), [3], 'float32');
      return { g, x, dx: grad(F.mul(x, x), [x], seed)[0]! };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { dx }, variables: 'inputs' });
    near(data((await cg.run({ x: float32(Float32Array.from([1, -1, 0.5]), [3]) })).dx), [2, -4, 3]);
    await cg.release();
  });

  test('a float64 loss is seeded with a float64 one', async () => {
    const { g, x, dx } = trace((g) => {
      const x = g.input('x', [2]);
      const loss = F.sum(F.square(F.cast(x, 'float64')));
      return { g, x, dx: grad(loss, [x])[0]! };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { dx }, variables: 'inputs' });
    near(data((await cg.run({ x: float32(Float32Array.from([1.5, -2]), [2]) })).dx), [3, -4]);
    await cg.release();
  });

  test('gradient with respect to an intermediate tensor', async () => {
    const { g, x, dh } = trace((g) => {
      const x = g.input('x', [2]);
      const h = F.mul(x, 3);
      return { g, x, dh: grad(F.sum(F.square(h)), [h])[0]! };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { dh }, variables: 'inputs' });
    near(data((await cg.run({ x: float32(Float32Array.from([1, 2]), [2]) })).dh), [6, 12]);
    await cg.release();
  });
});

describe('grad: the VJP contract', () => {
  // Untyped input tuples (OpDef's default), so these broken rules compile and grad() must catch them.
  const sameAsFirst: OpDef['infer'] = ([x]) => [{ shape: [...x!.shape], dtype: x!.dtype }];
  const OneGradMul: OpDef = { name: 'OneGradMul', onnx: 'Mul', infer: sameAsFirst, vjp: ([g]) => [g] };
  const ThreeGradMul: OpDef = { name: 'ThreeGradMul', onnx: 'Mul', infer: sameAsFirst, vjp: ([g]) => [g, g, null] };
  /** Identity whose rule sums the gradient over rows: [1, 4] for a [3, 4] input. */
  const RowSumIdentity: OpDef = { name: 'RowSumIdentity', onnx: 'Identity', infer: sameAsFirst, vjp: ([g]) => [F.sum(g, [0], true)] };
  /** Identity whose rule drops the leading axis: [4] for a [3, 4] input. */
  const FirstRowIdentity: OpDef = { name: 'FirstRowIdentity', onnx: 'Identity', infer: sameAsFirst, vjp: ([g]) => [F.sum(g, [0])] };
  const Floor: OpDef<Attrs, [Tensor]> = { name: 'Floor', infer: sameAsInput, vjp: nonDifferentiable };
  const apply = <I extends Tensor[]>(op: OpDef<Attrs, I>, ...xs: I): Tensor => currentGraph().apply(op, xs, {})[0];

  test('a VJP must return one gradient per input', () => {
    trace((g) => {
      const [a, b] = [g.input('a', [3, 4]), g.input('b', [3, 4])];
      const fewer = g.scope('dense_1', () => F.sum(apply(OneGradMul, a, b)));
      assert.throws(() => grad(fewer, [a, b]), (e: Error) => e instanceof GraphError && e.message.startsWith('grad: OneGradMul in dense_1 returned 1 gradient for its 2 inputs'));
      const more = F.sum(apply(ThreeGradMul, a, b));
      assert.throws(() => grad(more, [a]), (e: Error) => e instanceof GraphError && e.message.startsWith('grad: ThreeGradMul returned 3 gradients for its 2 inputs'));
    });
  });

  test('a gradient must unbroadcast to its input\'s shape, naming the op, its scope and both shapes', () => {
    trace((g) => {
      const x = g.input('x', [3, 4]);
      const rows = g.scope('dense_1', () => F.sum(apply(RowSumIdentity, x)));
      assert.throws(
        () => grad(rows, [x]),
        (e: Error) => e instanceof GraphError && e.message === 'grad: RowSumIdentity in dense_1 returned a gradient of shape [1, 4] for input 0 of shape [3, 4]',
      );
      assert.throws(() => grad(F.sum(apply(FirstRowIdentity, x)), [x]), /grad: FirstRowIdentity returned a gradient of shape \[4\] for input 0 of shape \[3, 4\]/);
    });
  });

  test('symbolic dims agree with a static size and with another name (broadcasting lets names meet)', () => {
    trace((g) => {
      const x = g.input('x', ['batch', 4]);
      // [1, 4] against ['batch', 4]: only the runtime knows whether batch is 1.
      assert.doesNotThrow(() => grad(F.sum(apply(RowSumIdentity, x)), [x]));
      // Add keeps the first name, so y's gradient is ['batch', 4] for y ['n', 4]: a correct rule.
      const y = g.input('y', ['n', 4]);
      assert.ok(grad(F.sum(F.add(x, y)), [y])[0]);
      // The static part of a symbolic shape is still checked.
      const Transposing: OpDef = { name: 'Transposing', onnx: 'Identity', infer: sameAsFirst, vjp: ([t]) => [F.transpose(t, [0, 2, 1])] };
      const z = g.input('z', ['batch', 3, 4]);
      assert.throws(() => grad(F.sum(apply(Transposing, z)), [z]), /grad: Transposing returned a gradient of shape \[batch, 4, 3\] for input 0 of shape \[batch, 3, 4\]/);
    });
  });

  test('an op marked nonDifferentiable on the gradient path is refused, naming it and its scope', () => {
    trace((g) => {
      const x = g.input('x', [3]);
      const loss = g.scope('quantize', () => F.sum(F.mul(apply(Floor, x), x)));
      assert.throws(() => grad(loss, [x]), (e: Error) => e instanceof GraphError && e.message === 'grad: op Floor in quantize is not differentiable');
    });
  });
});
