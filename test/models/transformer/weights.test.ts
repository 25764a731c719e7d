import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Variable } from '../../../src/core/variable.js';
import {
  bindWeights,
  transpose2d,
  unbindWeights,
  weightOf,
  WeightError,
  type CheckpointTensor,
  type ExpectedTensor,
} from '../../../src/models/transformer/weights.js';

/** Values that encode their own index, so a misplaced element is visible. */
const tensor = (shape: number[], offset = 0): CheckpointTensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => offset + i) });

const EXPECTED: ExpectedTensor[] = [
  { name: 'embed.weight', shape: [5, 3] },
  { name: 'proj.weight', shape: [2, 3], transpose: true }, // nn.Linear [out, in]
  { name: 'proj.bias', shape: [2] },
];
const checkpoint = () => new Map([['embed.weight', tensor([5, 3])], ['proj.weight', tensor([2, 3], 100)], ['proj.bias', tensor([2], 200)]]);
const weightError = (message: RegExp) => (e: unknown) => e instanceof WeightError && message.test(e.message);

describe('bindWeights', () => {
  test('one Variable per expected tensor; transposed ones become [in, out]', () => {
    const bound = bindWeights('TestLM', EXPECTED, checkpoint());
    assert.deepEqual([...bound.keys()], ['embed.weight', 'proj.weight', 'proj.bias']);
    const embed = bound.get('embed.weight')!;
    assert.deepEqual(embed.shape, [5, 3]);
    assert.deepEqual([...embed.value], [...tensor([5, 3]).data]);
    const proj = bound.get('proj.weight')!;
    assert.equal(proj.name, 'proj.weight');
    assert.deepEqual(proj.shape, [3, 2]);
    // [[100, 101, 102], [103, 104, 105]] transposed.
    assert.deepEqual([...proj.value], [100, 103, 101, 104, 102, 105]);
  });

  test('a missing tensor names it and its expected shape', () => {
    const ckpt = checkpoint();
    ckpt.delete('proj.bias');
    assert.throws(() => bindWeights('TestLM', EXPECTED, ckpt), weightError(/^TestLM: checkpoint has no tensor 'proj\.bias' \(expected shape \[2\]\)$/));
  });

  test('a mis-shaped tensor names both shapes in checkpoint layout', () => {
    const ckpt = checkpoint();
    ckpt.set('proj.weight', tensor([3, 2]));
    assert.throws(() => bindWeights('TestLM', EXPECTED, ckpt), weightError(/TestLM: tensor 'proj\.weight' has shape \[3, 2\] in the checkpoint, expected \[2, 3\]/));
    ckpt.set('proj.weight', tensor([6]));
    assert.throws(() => bindWeights('TestLM', EXPECTED, ckpt), weightError(/has shape \[6\] in the checkpoint, expected \[2, 3\]/));
  });

  test('leftover tensors are errors unless ignored; long lists are cut at five', () => {
    const one = checkpoint();
    one.set('rotary.inv_freq', tensor([4]));
    assert.throws(() => bindWeights('TestLM', EXPECTED, one), weightError(/^TestLM: unexpected tensor in the checkpoint: 'rotary\.inv_freq' \[4\]$/));
    assert.equal(bindWeights('TestLM', EXPECTED, one, [/\.inv_freq$/]).size, 3, 'ignored');

    const many = checkpoint();
    for (let i = 0; i < 7; i++) many.set(`extra.${i}`, tensor([1]));
    assert.throws(
      () => bindWeights('TestLM', EXPECTED, many),
      weightError(/unexpected tensors in the checkpoint: 'extra\.0' \[1\], 'extra\.1' \[1\], 'extra\.2' \[1\], 'extra\.3' \[1\], 'extra\.4' \[1\] and 2 more$/),
    );
  });
});

describe('unbindWeights', () => {
  test('gives back the checkpoint names, shapes and values (the inverse of bindWeights)', () => {
    const ckpt = checkpoint();
    const round = unbindWeights(EXPECTED, bindWeights('TestLM', EXPECTED, ckpt));
    assert.deepEqual([...round.keys()], [...ckpt.keys()]);
    for (const [name, t] of ckpt) {
      assert.deepEqual(round.get(name)!.shape, t.shape, name);
      assert.deepEqual([...round.get(name)!.data], [...t.data], name);
    }
  });

  test('reads the variables as they are now (after training)', () => {
    const bound = bindWeights('TestLM', EXPECTED, checkpoint());
    bound.get('proj.weight')!.value[1] = -1; // Forja layout [3, 2]: row 0, column 1 = checkpoint [1, 0]
    assert.equal(unbindWeights(EXPECTED, bound).get('proj.weight')!.data[3], -1);
  });

  test('a variable missing from the bound map is an internal error naming it', () => {
    const bound = bindWeights('TestLM', EXPECTED, checkpoint());
    bound.delete('proj.bias');
    assert.throws(() => unbindWeights(EXPECTED, bound), weightError(/internal: weight 'proj\.bias' was not declared/));
  });
});

describe('transpose2d', () => {
  test('matches the definition across block edges (sizes not multiples of the block)', () => {
    for (const [rows, cols] of [[1, 1], [1, 7], [70, 130], [129, 64]] as const) {
      const src = Float32Array.from({ length: rows * cols }, (_, i) => i);
      const out = transpose2d(src, rows, cols);
      let wrong = 0;
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (out[c * rows + r] !== src[r * cols + c]) wrong++;
      assert.equal(wrong, 0, `${rows}×${cols}`);
      assert.deepEqual(transpose2d(out, cols, rows), src, `${rows}×${cols} twice is the identity`);
    }
  });
});

describe('weightOf', () => {
  test('looks a variable up by name; an undeclared name is an internal error', () => {
    const v = new Variable('a', [1], Float32Array.of(1));
    assert.equal(weightOf(new Map([['a', v]]), 'a'), v);
    assert.throws(() => weightOf(new Map(), 'b'), weightError(/^internal: weight 'b' was not declared in the architecture's name map$/));
  });
});
