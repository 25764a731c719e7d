import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentGraph, Graph, GraphError, nonDifferentiable, trace, type OpDef } from '../../src/core/graph.js';
import { Variable } from '../../src/core/variable.js';
import * as F from '../../src/core/ops/index.js';

test('inputs are unique by name; a variable has one tensor per graph', () => {
  trace((g) => {
    g.input('x', [2]);
    assert.throws(() => g.input('x', [3]), /graph input 'x' is declared twice/);
    const v = new Variable('w', [2, 2]);
    assert.equal(g.param(v), g.param(v));
    assert.deepEqual(g.param(v).shape, [2, 2]);
    assert.deepEqual(g.variables, [v]);
  });
});

test('ops append nodes in order, under the current scope', () => {
  const { g, y } = trace((g) => {
    const x = g.input('x', [2]);
    const y = g.scope('block', () => g.scope('inner', () => F.exp(x)));
    return { g, y };
  });
  assert.equal(g.nodes.length, 1);
  assert.equal(g.nodes[0]!.scope, 'block/inner');
  assert.equal(y.source.kind, 'node');
  assert.equal(g.scopePath, '');
});

test('no current graph outside trace; tensors of another graph are refused', () => {
  assert.throws(() => currentGraph(), /no graph is being traced/);
  const other = new Graph();
  const foreign = other.input('z', [2]);
  trace((g) => {
    assert.throws(() => F.exp(foreign), (e: Error) => e instanceof GraphError && /Exp: input Tensor\(z, float32\[2\]\) belongs to another graph/.test(e.message));
    assert.equal(currentGraph(), g);
  });
});

test('Variable checks sizes and names itself in errors', () => {
  assert.throws(() => new Variable('dense/kernel', [2, 3], new Float32Array(5)), /Variable 'dense\/kernel': value has 5 elements but shape \[2, 3\] needs 6/);
  const v = new Variable('b', [3]);
  assert.throws(() => v.assign(new Float32Array(2), 'load'), /Variable 'b' \(load\): got 2 elements, expected 3/);
});

test('every op states its gradient: omitting vjp is a type error, apply types the outputs', () => {
  const infer: OpDef['infer'] = ([x]) => [{ shape: [...x!.shape], dtype: x!.dtype }];
  // Checked by `npm run typecheck`: if vjp became optional again, this directive would be unused and fail.
  // @ts-expect-error vjp is required (a rule, or nonDifferentiable)
  const missing: OpDef = { name: 'NoRule', onnx: 'Identity', infer };
  const marked: OpDef = { name: 'Marked', onnx: 'Identity', infer, vjp: nonDifferentiable };
  assert.equal(missing.vjp, undefined);
  trace((g) => {
    const [y] = g.apply(marked, [g.input('x', [2])], {});
    assert.deepEqual(y.shape, [2]);
  });
});
