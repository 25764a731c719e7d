import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { trace } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import { emitModel, type EmittedModel } from '../../src/onnx/emit.js';
import { repeatModel, STEPS_INPUT } from '../../src/onnx/repeat.js';
import { float32, int64 } from '../../src/runtime/session.js';

/**
 * One "step": acc' = acc * scale + x (acc carried, x per step, scale read-only), and out = acc' + offset
 * (stacked), with a constant offset so the body has an initializer of its own.
 */
function stepModel(): EmittedModel {
  const scale = new Variable('scale', [2], Float32Array.of(2, 0.5));
  const acc = new Variable('acc', [2], Float32Array.of(1, 1));
  return trace((g) => {
    const x = g.input('x', [2]);
    const next = F.add(F.mul(g.param(acc), g.param(scale)), x);
    const out = F.add(next, g.constant(Float32Array.of(100, 200), [2], 'float32'));
    return emitModel({ graph: g, inputs: [x], outputs: { next, out }, variables: 'inputs', name: 'step' });
  });
}

test('a repeated model carries, slices and stacks as K separate runs would', async () => {
  const step = stepModel();
  const [scaleName, accName] = step.variableInputNames;
  const repeated = repeatModel(step, { perStep: ['x'], carried: [[accName!, 'next']], stacked: ['out'] });
  assert.deepEqual(repeated.inputNames, [STEPS_INPUT, 'x']);
  const session = await ort.InferenceSession.create(repeated.bytes);
  try {
    const xs = Float32Array.of(1, 2, 3, 4, 5, 6);
    const result = await session.run({
      [STEPS_INPUT]: int64([3], []),
      x: float32(xs, [3, 2]),
      [accName!]: float32(Float32Array.of(1, 1), [2]),
      [scaleName!]: float32(Float32Array.of(2, 0.5), [2]),
    });
    // By hand: acc = [1, 1] → [3, 2.5] → [9, 5.25] → [23, 8.625].
    assert.deepEqual([...(result.next!.data as Float32Array)], [23, 8.625]);
    assert.deepEqual(result.out!.dims, [3, 2]);
    assert.deepEqual([...(result.out!.data as Float32Array)], [103, 202.5, 109, 205.25, 123, 208.625]);
    // One trip is one step.
    const one = await session.run({
      [STEPS_INPUT]: int64([1], []),
      x: float32(xs.subarray(0, 2), [1, 2]),
      [accName!]: float32(Float32Array.of(1, 1), [2]),
      [scaleName!]: float32(Float32Array.of(2, 0.5), [2]),
    });
    assert.deepEqual([...(one.next!.data as Float32Array)], [3, 2.5]);
  } finally {
    await session.release();
  }
});

test('repeatModel names a missing input or output, and an output left unassigned', () => {
  const step = stepModel();
  const accName = step.variableInputNames[1]!;
  assert.throws(() => repeatModel(step, { perStep: ['y'], carried: [[accName, 'next']], stacked: ['out'] }), /has no input 'y' \(it has x, /);
  assert.throws(() => repeatModel(step, { perStep: ['x'], carried: [[accName, 'nxt']], stacked: ['out'] }), /has no output 'nxt'/);
  assert.throws(() => repeatModel(step, { perStep: ['x'], carried: [[accName, 'next']], stacked: [] }), /outputs out are neither carried nor stacked/);
});
