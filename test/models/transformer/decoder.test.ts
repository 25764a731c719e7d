import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trace } from '../../../src/core/graph.js';
import { decoderContext, selectPositions } from '../../../src/models/transformer/decoder.js';
import type { CausalLmDims } from '../../../src/models/transformer/types.js';
import { runGraph } from '../../helpers/run-graph.js';

const DIMS: CausalLmDims = { layers: 2, heads: 2, kvHeads: 1, headDim: 2, hidden: 4, vocabSize: 10, maxPositions: 16 };
const M = -3.4028234663852886e38;
const ids = (B: number, T: number) => ({ shape: [B, 'T'], dtype: 'int64' as const, dims: [B, T], data: new Array<number>(B * T).fill(3) });

describe('decoderContext', () => {
  test('without mask or cache: positions 0..T−1 and a causal bias', async () => {
    const out = await runGraph({ ids: ids(1, 3) }, ({ ids }) => {
      const ctx = decoderContext('TestLM', DIMS, { inputIds: ids! });
      assert.deepEqual(ctx.past, [undefined, undefined], 'one (empty) cache slot per layer');
      return { positions: ctx.positionIds, bias: ctx.bias };
    });
    assert.deepEqual(out.positions!.dims, [1, 3]);
    assert.deepEqual(out.positions!.data, [0, 1, 2]);
    assert.deepEqual(out.bias!.data, [0, M, M, 0, 0, M, 0, 0, 0]);
  });

  test('with a cache of P positions and no mask: positions continue at P', async () => {
    const out = await runGraph(
      { ids: ids(1, 2), pastKey: { shape: [1, 1, 'P', 2], dims: [1, 1, 4, 2], data: new Float32Array(8) } },
      ({ ids, pastKey }) => {
        const past = [0, 1].map(() => ({ key: pastKey!, value: pastKey! }));
        const ctx = decoderContext('TestLM', DIMS, { inputIds: ids!, past });
        assert.equal(ctx.past[1], past[1]);
        return { positions: ctx.positionIds, bias: ctx.bias };
      },
    );
    assert.deepEqual(out.positions!.data, [4, 5]);
    assert.deepEqual(out.bias!.dims, [1, 1, 2, 6]);
    assert.deepEqual(out.bias!.data, [0, 0, 0, 0, 0, M, 0, 0, 0, 0, 0, 0]);
  });

  test('with an attention mask: S comes from the mask, padding is masked per row, a window is applied', async () => {
    const mask = [0, 1, 1, 1, 1, 1, 1, 1];
    const out = await runGraph(
      { ids: ids(2, 2), mask: { shape: [2, 'S'], dtype: 'int64', dims: [2, 4], data: mask } },
      ({ ids, mask }) => {
        const ctx = decoderContext('TestLM', DIMS, { inputIds: ids!, attentionMask: mask! }, 2);
        return { positions: ctx.positionIds, bias: ctx.bias };
      },
    );
    assert.deepEqual(out.positions!.data, [2, 3], 'the last T of S positions, shared by the rows');
    assert.deepEqual(out.bias!.dims, [2, 1, 2, 4]);
    // Queries at positions 2 and 3, window 2: keys {1, 2} and {2, 3}; row 0's key 0 is padding anyway.
    assert.deepEqual(out.bias!.data, [M, 0, 0, M, M, M, 0, 0, M, 0, 0, M, M, M, 0, 0]);
  });

  test('given position ids are used as they are', () => {
    trace((g) => {
      const inputIds = g.input('ids', [2, 3], 'int64');
      const positionIds = g.input('pos', [2, 3], 'int64');
      assert.equal(decoderContext('TestLM', DIMS, { inputIds, positionIds }).positionIds, positionIds);
    });
  });

  test('input_ids of the wrong rank and a cache for the wrong number of layers are errors naming the model', () => {
    trace((g) => {
      const flat = g.input('flat', [6], 'int64');
      assert.throws(() => decoderContext('TestLM', DIMS, { inputIds: flat }), /^Error: TestLM: input_ids must be \(batch, sequence\), received shape \[6\]$/);
      const inputIds = g.input('ids', [1, 3], 'int64');
      const kv = g.input('kv', [1, 1, 2, 2]);
      assert.throws(
        () => decoderContext('TestLM', DIMS, { inputIds, past: [{ key: kv, value: kv }] }),
        /TestLM: expected a cache for each of the 2 layers, received 1/,
      );
    });
  });
});

describe('selectPositions', () => {
  const hidden = { shape: [1, 'T', 2], dims: [1, 4, 2], data: [0, 1, 10, 11, 20, 21, 30, 31] };

  test('picks positions along the sequence axis; negative indices count from the end', async () => {
    const out = await runGraph(
      { h: hidden, index: { shape: ['K'], dtype: 'int64', dims: [2], data: [-1, 1] } },
      ({ h, index }) => ({ y: selectPositions(h!, index!) }),
    );
    assert.deepEqual(out.y!.dims, [1, 2, 2]);
    assert.deepEqual(out.y!.data, [30, 31, 10, 11]);
  });

  test('without an index every position is kept', () => {
    trace((g) => {
      const h = g.input('h', [1, 4, 2]);
      assert.equal(selectPositions(h), h);
    });
  });
});
