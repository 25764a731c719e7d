import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { Rng } from '../../../src/core/rng.js';
import { Llama, llamaTensors, parseLlamaConfig } from '../../../src/models/llama/model.js';
import { GREEDY_TOKENS, SAMPLE_ROWS, SAMPLE_TEMPERATURES, SAMPLE_UNIFORMS, SAMPLED_TOKENS, TOKEN_BIAS } from '../../../src/models/transformer/token-head.js';
import { appendedName, inferenceGraph, LOGITS_INDEX, pastName, presentName } from '../../../src/models/transformer/inference-graph.js';
import { emitModel } from '../../../src/onnx/emit.js';
import { CompiledGraph, float32, int64, viewTensor } from '../../../src/runtime/session.js';
import { assertClose } from '../../helpers/gradcheck.js';

const { onnx } = onnxProto;

// GQA (4 query heads, 2 KV heads of size 4), so the cache inputs must use the KV head count.
const CONFIG = { architectures: ['LlamaForCausalLM'], vocab_size: 13, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 };

function tinyLlama(): Llama {
  const config = parseLlamaConfig(CONFIG, 'LlamaForCausalLM');
  const rng = new Rng(4);
  const weights = new Map(llamaTensors(config).map(({ name, shape }) => [name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.3 * rng.normal()) }]));
  return Llama.fromCheckpoint(CONFIG, weights);
}

const dimsOf = (info: onnxProto.onnx.IValueInfoProto) => (info.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam || Number(d.dimValue));

describe('inferenceGraph', () => {
  const model = tinyLlama();

  test('the transformers.js (Optimum) names, symbolic dims and cache layout', () => {
    const graph = onnx.ModelProto.decode(emitModel(inferenceGraph(model, { logits: 'all' })).bytes).graph!;
    const inputs = graph.input!.map((i) => [i.name, dimsOf(i)]);
    assert.deepEqual(inputs, [
      ['input_ids', ['batch_size', 'sequence_length']],
      ['attention_mask', ['batch_size', 'total_sequence_length']],
      ['position_ids', ['batch_size', 'sequence_length']],
      ['past_key_values.0.key', ['batch_size', 2, 'past_sequence_length', 4]],
      ['past_key_values.0.value', ['batch_size', 2, 'past_sequence_length', 4]],
      ['past_key_values.1.key', ['batch_size', 2, 'past_sequence_length', 4]],
      ['past_key_values.1.value', ['batch_size', 2, 'past_sequence_length', 4]],
    ]);
    assert.deepEqual(graph.output!.map((o) => o.name), ['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    assert.deepEqual(dimsOf(graph.output![0]!).slice(0, 2), ['batch_size', 'sequence_length']);
    assert.equal(graph.name, 'LlamaForCausalLM', 'named after the architecture by default');
    // Weights live in the model: every variable is an initializer, none is an input.
    const initializers = new Set(graph.initializer!.map((t) => t.name));
    for (const name of model.weights.keys()) assert.ok(initializers.has(name), `${name} is an initializer`);
    assert.deepEqual([pastName(1, 'value'), presentName(0, 'key')], ['past_key_values.1.value', 'present.0.key']);
  });

  test("'selected' adds the logits_index input and the token head's inputs and outputs; a name can be given", () => {
    const emitted = emitModel(inferenceGraph(model, { logits: 'selected', name: 'tiny' }));
    assert.deepEqual(emitted.inputNames.slice(-5), [LOGITS_INDEX, TOKEN_BIAS, SAMPLE_ROWS, SAMPLE_TEMPERATURES, SAMPLE_UNIFORMS]);
    assert.deepEqual(emitted.outputNames.slice(1, 3), [GREEDY_TOKENS, SAMPLED_TOKENS]);
    assert.equal(emitted.variableInputs.length, 0);
    assert.equal(onnx.ModelProto.decode(emitted.bytes).graph!.name, 'tiny');
  });

  test("'append' takes the past in the models' layout and returns only the new positions", () => {
    const graph = onnx.ModelProto.decode(emitModel(inferenceGraph(model, { logits: 'selected', cache: 'append' })).bytes).graph!;
    assert.deepEqual(dimsOf(graph.input!.find((i) => i.name === pastName(1, 'value'))!), ['batch_size', 2, 'past_sequence_length', 4]);
    assert.equal(graph.input!.find((i) => i.name === LOGITS_INDEX) !== undefined, true);
    assert.deepEqual(graph.output!.map((o) => o.name), ['logits', GREEDY_TOKENS, SAMPLED_TOKENS, ...[0, 1].flatMap((i) => [appendedName(i, 'key'), appendedName(i, 'value')])]);
    assert.deepEqual(dimsOf(graph.output![3]!), ['batch_size', 2, 'sequence_length', 4]);
  });

  describe('running it', () => {
    let all: CompiledGraph;
    let selected: CompiledGraph;
    let append: CompiledGraph;
    before(async () => {
      [all, selected, append] = await Promise.all([
        CompiledGraph.compile(inferenceGraph(model, { logits: 'all' })),
        CompiledGraph.compile(inferenceGraph(model, { logits: 'selected' })),
        CompiledGraph.compile(inferenceGraph(model, { logits: 'selected', cache: 'append' })),
      ]);
    });
    after(() => Promise.all([all.release(), selected.release(), append.release()]));

    const emptyPast = Object.fromEntries([0, 1].flatMap((i) => (['key', 'value'] as const).map((k) => [pastName(i, k), float32(new Float32Array(0), [1, 2, 0, 4])])));
    const prompt = [3, 1, 4, 1, 5, 9];
    const V = 13;
    const noBias = {
      [TOKEN_BIAS]: float32(new Float32Array(V), [1, V]),
      [SAMPLE_ROWS]: int64([], [0]),
      [SAMPLE_TEMPERATURES]: float32(new Float32Array(0), [0]),
      [SAMPLE_UNIFORMS]: viewTensor(new Float64Array(0), [0]),
    };

    test('logits_index picks rows of the full logits (−1 is the last position); present caches every position', async () => {
      const T = prompt.length;
      const feeds = { input_ids: int64(prompt, [1, T]), attention_mask: int64(prompt.map(() => 1), [1, T]), position_ids: int64(prompt.map((_, i) => i), [1, T]), ...emptyPast };
      const full = await all.run(feeds);
      assert.deepEqual(full.logits!.dims, [1, T, V]);
      assert.deepEqual(full[presentName(1, 'key')]!.dims, [1, 2, T, 4]);
      const picked = await selected.run({ ...feeds, [LOGITS_INDEX]: int64([-1, 0, 2], [3]), ...noBias });
      assert.deepEqual(picked.logits!.dims, [1, 3, V]);
      const rows = full.logits!.data as Float32Array;
      const expected = [T - 1, 0, 2].flatMap((t) => [...rows.subarray(t * V, (t + 1) * V)]);
      // Logits here are below 1 in magnitude: the same float32 math on fewer rows agrees to ~1e-7.
      assertClose(picked.logits!.data as Float32Array, expected, { atol: 1e-5 }, 'selected rows');
    });

    test('a decode step fed the present cache gives the full graph\'s logits for that position', async () => {
      const T = prompt.length;
      const head = prompt.slice(0, T - 1);
      const prefill = await all.run({ input_ids: int64(head, [1, T - 1]), attention_mask: int64(head.map(() => 1), [1, T - 1]), position_ids: int64(head.map((_, i) => i), [1, T - 1]), ...emptyPast });
      const past = Object.fromEntries([0, 1].flatMap((i) => (['key', 'value'] as const).map((k) => [pastName(i, k), prefill[presentName(i, k)]!])));
      const step = await selected.run({ input_ids: int64([prompt[T - 1]!], [1, 1]), attention_mask: int64(prompt.map(() => 1), [1, T]), position_ids: int64([T - 1], [1, 1]), ...past, [LOGITS_INDEX]: int64([-1], [1]), ...noBias });
      const full = await all.run({ input_ids: int64(prompt, [1, T]), attention_mask: int64(prompt.map(() => 1), [1, T]), position_ids: int64(prompt.map((_, i) => i), [1, T]), ...emptyPast });
      assertClose(step.logits!.data as Float32Array, (full.logits!.data as Float32Array).subarray((T - 1) * V), { atol: 1e-5 }, 'decode step');
    });

    test("'append' steps: the same logits as the full graph with spare, masked past positions; the new positions out", async () => {
      // Two rows (batch 2) so a mix-up of the batch and position axes shows.
      const rows = [prompt, [2, 7, 1, 8, 2, 8]];
      const T = prompt.length;
      const inputsOf = (ids: number[][], past: number, steps: number) => ({
        input_ids: int64(ids.flatMap((r) => r.slice(past, past + steps)), [2, steps]),
        position_ids: int64(ids.flatMap(() => Array.from({ length: steps }, (_, i) => past + i)), [2, steps]),
      });
      const ones = (width: number) => int64(new Array<number>(2 * width).fill(1), [2, width]);
      const full = await all.run({ ...inputsOf(rows, 0, T), attention_mask: ones(T), ...Object.fromEntries(Object.entries(emptyPast).map(([k]) => [k, float32(new Float32Array(0), [2, 2, 0, 4])])) });
      // The first `head` positions of the full present, then `spare` positions of garbage: (2, 2, head + spare, 4).
      const head = T - 2;
      const spare = 3;
      const withSpare = (t: { data: unknown }) => {
        const d = t.data as Float32Array;
        const out: number[] = [];
        for (let bh = 0; bh < 4; bh++) {
          out.push(...d.subarray(bh * T * 4, (bh * T + head) * 4));
          for (let p = 0; p < spare * 4; p++) out.push(9 + p);
        }
        return float32(Float32Array.from(out), [2, 2, head + spare, 4]);
      };
      const mask = int64([0, 1].flatMap(() => [...new Array<number>(head).fill(1), ...new Array<number>(spare).fill(0), 1, 1]), [2, head + spare + 2]);
      const step = await append.run({
        ...inputsOf(rows, head, 2),
        attention_mask: mask,
        ...Object.fromEntries([0, 1].flatMap((i) => (['key', 'value'] as const).map((k) => [pastName(i, k), withSpare(full[presentName(i, k)]!)]))),
        [LOGITS_INDEX]: int64([-1], [1]),
        ...noBias,
      });
      const last = full.logits!.data as Float32Array;
      const expected = [0, 1].flatMap((b) => [...last.subarray((b * T + T - 1) * V, (b * T + T) * V)]);
      assertClose(step.logits!.data as Float32Array, expected, { atol: 1e-5 }, 'logits');
      for (const i of [0, 1]) {
        for (const k of ['key', 'value'] as const) {
          assert.deepEqual(step[appendedName(i, k)]!.dims, [2, 2, 2, 4]);
          const present = full[presentName(i, k)]!.data as Float32Array;
          const newPositions = [0, 1, 2, 3].flatMap((bh) => [...present.subarray((bh * T + head) * 4, (bh * T + T) * 4)]);
          assertClose(step[appendedName(i, k)]!.data as Float32Array, newPositions, { atol: 1e-5 }, `${appendedName(i, k)}`);
        }
      }
    });
  });
});
