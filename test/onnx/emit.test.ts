import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { trace } from '../../src/core/graph.js';
import { Variable } from '../../src/core/variable.js';
import * as F from '../../src/core/ops/index.js';
import { emitModel, OPSET, type EmitOptions } from '../../src/onnx/emit.js';
import { CompiledGraph, float32 } from '../../src/runtime/session.js';

const { onnx } = onnxProto;
interface NodeView {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attribute: onnxProto.onnx.IAttributeProto[];
}

/** The decoded model with protobuf's optional fields resolved, for plain assertions. */
function view(bytes: Uint8Array) {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph ?? {};
  const nodes: NodeView[] = (graph.node ?? []).map((n) => ({
    opType: n.opType ?? '',
    name: n.name ?? '',
    input: n.input ?? [],
    output: n.output ?? [],
    attribute: n.attribute ?? [],
  }));
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', Uint8Array.from(t.rawData ?? [])]));
  const firstInputDims = (graph.input?.[0]?.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam || Number(d.dimValue));
  return {
    opset: (model.opsetImport ?? []).map((o) => [o.domain ?? '', Number(o.version)]),
    nodes,
    inputs: (graph.input ?? []).map((i) => i.name ?? ''),
    outputs: (graph.output ?? []).map((o) => o.name ?? ''),
    initializers,
    firstInputDims,
  };
}
const decode = (opts: EmitOptions) => view(emitModel(opts).bytes);

describe('emitModel', () => {
  test('emits only the nodes the outputs depend on, with opset 20', () => {
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [2]);
      F.exp(F.log(x)); // dead branch
      return { g, x, y: F.relu(F.neg(x)) };
    });
    const model = decode({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
    assert.equal(OPSET, 20);
    assert.deepEqual(model.opset, [['', 20]]);
    assert.deepEqual(model.nodes.map((n) => n.opType), ['Neg', 'Relu']);
    assert.equal(g.nodes.length, 4);
  });

  test('outputs carry their given names; an input or repeated tensor goes through Identity', () => {
    const { g, x, y } = trace((g) => {
      const x = g.input('x', ['batch', 3]);
      return { g, x, y: F.sigmoid(x) };
    });
    const model = decode({ graph: g, inputs: [x], outputs: { probs: y, again: y, echo: x }, variables: 'inputs' });
    assert.deepEqual(model.outputs, ['probs', 'again', 'echo']);
    assert.deepEqual(model.nodes.find((n) => n.opType === 'Sigmoid')!.output, ['probs']);
    const identities = model.nodes.filter((n) => n.opType === 'Identity').map((n) => [n.input[0], n.output[0]]);
    assert.deepEqual(identities, [['probs', 'again'], ['x', 'echo']]);
    // Symbolic dims are dim_params, static ones dim_values.
    assert.deepEqual(model.firstInputDims, ['batch', 3]);
  });

  test('variables: fed as inputs, except frozen ones, which are baked in with their values', () => {
    const w = new Variable('w', [2, 2], Float32Array.from([1, 2, 3, 4]));
    const frozen = new Variable('frozen', [2], Float32Array.from([5, 6]), false);
    const { g, x, y } = trace((g) => {
      const x = g.input('x', ['batch', 2]);
      return { g, x, y: F.add(F.matmul(x, g.param(w)), g.param(frozen)) };
    });
    const emitted = emitModel({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs', frozen: new Set([frozen]) });
    assert.deepEqual(emitted.variableInputs, [w]);
    const model = view(emitted.bytes);
    assert.deepEqual(model.inputs, ['x', 'w']);
    assert.deepEqual(Array.from(new Float32Array(model.initializers.get('frozen')!.buffer)), [5, 6]);

    const inference = decode({ graph: g, inputs: [x], outputs: { y }, variables: 'initializers' });
    assert.deepEqual(inference.inputs, ['x']);
    assert.deepEqual([...inference.initializers.keys()].filter((n) => n === 'w' || n === 'frozen').sort(), ['frozen', 'w']);
  });

  test('attributes: only declared ones are written, with ONNX types; internal ones are not', () => {
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [2, 3]);
      return { g, x, y: F.sum(F.leakyRelu(F.reshape(x, [3, 2]), 0.25), [1], true) };
    });
    const nodes = decode({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' }).nodes;
    const leaky = nodes.find((n) => n.opType === 'LeakyRelu')!;
    assert.deepEqual(leaky.attribute.map((a) => [a.name, a.type, a.f]), [['alpha', onnx.AttributeProto.AttributeType.FLOAT, 0.25]]);
    const reduce = nodes.find((n) => n.opType === 'ReduceSum')!;
    assert.deepEqual(reduce.attribute.map((a) => [a.name, a.type, Number(a.i)]), [['keepdims', onnx.AttributeProto.AttributeType.INT, 1]]);
    assert.deepEqual(nodes.find((n) => n.opType === 'Reshape')!.attribute, []);
  });

  test('node names carry the scope path', () => {
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [2]);
      return { g, x, y: g.scope('encoder', () => g.scope('dense_1', () => F.tanh(x))) };
    });
    const node = decode({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' }).nodes[0]!;
    assert.match(node.name, /^encoder\/dense_1\/Tanh_\d+$/);
  });

  test('errors: an unlisted input, a duplicate output name, a non-input listed as input', () => {
    trace((g) => {
      const x = g.input('x', [2]);
      const other = g.input('other', [2]);
      const y = F.add(x, other);
      assert.throws(() => emitModel({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' }), /depend on graph input 'other', which was not listed/);
      assert.throws(() => emitModel({ graph: g, inputs: [x, other], outputs: { x: y }, variables: 'inputs' }), /output name 'x' is used twice/);
      assert.throws(() => emitModel({ graph: g, inputs: [y], outputs: { y }, variables: 'inputs' }), /is not a graph input/);
    });
  });

  test('the emitted model runs: baked and fed variables give the same result', async () => {
    const w = new Variable('w', [2], Float32Array.from([2, -1]));
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [2]);
      return { g, x, y: F.mul(x, g.param(w)) };
    });
    for (const variables of ['inputs', 'initializers'] as const) {
      const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables });
      const out = await cg.run({ x: float32(Float32Array.from([3, 4]), [2]) });
      assert.deepEqual(Array.from(out.y!.data as Float32Array), [6, -4]);
      await cg.release();
    }
  });
});
