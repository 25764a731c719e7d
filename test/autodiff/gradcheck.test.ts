/** The gradient checker must be able to fail: wrong VJP rules and wrong references are caught. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { currentGraph, type Attrs, type OpDef, type Tensor } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { sameAsInput } from '../../src/core/ops/util.js';
import { checkGrad, checkOp } from '../helpers/gradcheck.js';

/** ONNX Exp with a deliberately wrong VJP (g·x instead of g·eˣ). */
const WrongExp: OpDef<Attrs, [Tensor]> = { name: 'WrongExp', onnx: 'Exp', infer: sameAsInput, vjp: ([g], { inputs: [x] }) => [F.mul(g, x)] };
/** ONNX Exp with a VJP that is off by 5%. */
const SlightlyWrongExp: OpDef<Attrs, [Tensor]> = { name: 'SlightlyWrongExp', onnx: 'Exp', infer: sameAsInput, vjp: ([g], { outputs: [y] }) => [F.mul(g, F.mul(y, 1.05))] };
/** A VJP that forgets the broadcast operand's contribution. */
const HalfMul: OpDef<Attrs, [Tensor, Tensor]> = { name: 'HalfMul', onnx: 'Mul', infer: sameAsInput, vjp: ([g], { inputs: [, b] }) => [F.mul(g, b), null] };

const apply = <I extends Tensor[]>(op: OpDef<Attrs, I>, ...xs: I): Tensor => currentGraph().apply(op, xs, {})[0];

describe('checkGrad', () => {
  test('accepts a correct rule and reports what it checked', async () => {
    const report = await checkGrad(({ x }) => F.exp(x!), { x: [2, 3] });
    assert.equal(report.checked, 6);
    assert.ok(report.maxAbsError < 1e-3);
  });

  test('rejects a wrong rule, naming the input and element', async () => {
    await assert.rejects(() => checkGrad(({ x }) => apply(WrongExp, x!), { x: [2, 3] }), /checkGrad: d\/dx\[\d+\] analytic/);
  });

  test('rejects a rule that is off by 5%', async () => {
    await assert.rejects(() => checkGrad(({ x }) => apply(SlightlyWrongExp, x!), { x: { shape: [4], low: 1, high: 2 } }), /checkGrad/);
  });

  test('rejects a missing gradient for an input the function depends on', async () => {
    await assert.rejects(() => checkGrad(({ a, b }) => apply(HalfMul, a!, b!), { a: [3], b: [3] }), /grad\(\) gave no gradient for input 'b'/);
  });
});

describe('checkOp', () => {
  test('rejects a wrong reference and a wrong shape', async () => {
    await assert.rejects(() => checkOp(({ x }) => F.exp(x!), { x: { shape: [2], values: [0, 1] } }, () => [1, 2.7]), /checkOp: element 1/);
    await assert.rejects(() => checkOp(({ x }) => F.exp(x!), { x: { shape: [2], values: [0, 1] } }, () => ({ data: [1, Math.E], dims: [1, 2] })), /output dims \[2\]/);
  });
});
