/**
 * An emitted model run several times in one session.run, through ONNX's Loop.
 * Why: onnxruntime-node copies every output of a run into fresh memory, so a
 * training step of a small model spends more time returning its weights and
 * optimizer slots than computing them. Looping K steps inside ONNX Runtime
 * returns them once per K steps (Keras' steps_per_execution).
 *
 * The repeated model keeps the model's names. It takes a scalar int64 `steps`
 * input, then each per-step input stacked on a new leading axis of length
 * `steps` (trip i reads row i); carried inputs are the first trip's values,
 * and each later trip gets the previous trip's carried output instead; every
 * other input is read by every trip. It returns each carried output's last
 * value and each stacked output with one row per trip.
 */
import onnxProto from 'onnx-proto';
import type { EmittedModel } from './emit.js';

const { onnx } = onnxProto;

export const STEPS_INPUT = 'steps';

export interface RepeatSpec {
  /** Inputs sliced per trip. */
  perStep: readonly string[];
  /** [input, output] pairs: the output of one trip is the input of the next. */
  carried: readonly (readonly [string, string])[];
  /** Outputs returned stacked, one row per trip. */
  stacked: readonly string[];
}

const TRIP = 'trip/';
const ITERATION = `${TRIP}iteration`;
const CONDITION_IN = `${TRIP}condition_in`;
const CONDITION_OUT = `${TRIP}condition_out`;

export function repeatModel(model: EmittedModel, spec: RepeatSpec): EmittedModel {
  const proto = onnx.ModelProto.decode(model.bytes);
  const graph = proto.graph!;
  const inputs = new Map(graph.input!.map((i) => [i.name!, i]));
  const outputs = new Map(graph.output!.map((o) => [o.name!, o]));
  const find = <T>(table: Map<string, T>, name: string, what: string): T => {
    const found = table.get(name);
    if (!found) throw new Error(`repeatModel: the model '${graph.name}' has no ${what} '${name}' (it has ${[...table.keys()].join(', ')})`);
    return found;
  };
  if (inputs.has(STEPS_INPUT)) throw new Error(`repeatModel: the model '${graph.name}' already has an input '${STEPS_INPUT}'`);
  spec.perStep.forEach((name) => find(inputs, name, 'input'));
  spec.carried.forEach(([input, output]) => (find(inputs, input, 'input'), find(outputs, output, 'output')));
  spec.stacked.forEach((name) => find(outputs, name, 'output'));
  const carriedOutputs = new Set(spec.carried.map(([, output]) => output));
  const unlisted = [...outputs.keys()].filter((name) => !carriedOutputs.has(name) && !spec.stacked.includes(name));
  if (unlisted.length > 0) throw new Error(`repeatModel: outputs ${unlisted.join(', ')} are neither carried nor stacked`);

  // Inside the loop body, the per-step and carried values get names of their own: a subgraph may not redefine
  // a name of the graph around it. Everything else the body reads (read-only inputs) it reads from outside.
  const renamed = new Map<string, string>();
  for (const name of [...spec.perStep, ...spec.carried.flat(), ...spec.stacked]) renamed.set(name, `${TRIP}${name}`);
  const rename = (name: string): string => renamed.get(name) ?? name;
  const bodyNodes: onnxProto.onnx.INodeProto[] = [
    ...spec.perStep.map((name) => ({
      opType: 'Gather',
      input: [name, ITERATION],
      output: [rename(name)],
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      name: `${TRIP}slice_${name}`,
    })),
    ...graph.node!.map((node) => ({ ...node, input: node.input!.map(rename), output: node.output!.map(rename) })),
    { opType: 'Identity', input: [CONDITION_IN], output: [CONDITION_OUT], name: `${TRIP}condition` },
  ];
  const scalar = (name: string, elemType: number): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType, shape: { dim: [] } } } });
  const BOOL = onnx.TensorProto.DataType.BOOL;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const body: onnxProto.onnx.IGraphProto = {
    name: `${graph.name}_trip`,
    node: bodyNodes,
    initializer: graph.initializer!.map((t) => ({ ...t, name: rename(t.name!) })),
    valueInfo: graph.valueInfo!.map((v) => ({ ...v, name: rename(v.name!) })),
    input: [scalar(ITERATION, INT64), scalar(CONDITION_IN, BOOL), ...spec.carried.map(([input]) => ({ ...inputs.get(input)!, name: rename(input) }))],
    output: [
      scalar(CONDITION_OUT, BOOL),
      ...spec.carried.map(([, output]) => ({ ...outputs.get(output)!, name: rename(output) })),
      ...spec.stacked.map((name) => ({ ...outputs.get(name)!, name: rename(name) })),
    ],
  };
  const loop: onnxProto.onnx.INodeProto = {
    opType: 'Loop',
    input: [STEPS_INPUT, '', ...spec.carried.map(([input]) => input)],
    output: [...spec.carried.map(([, output]) => output), ...spec.stacked],
    attribute: [{ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: body }],
    name: 'repeat',
  };
  const stackedInfo = (info: onnxProto.onnx.IValueInfoProto): onnxProto.onnx.IValueInfoProto => {
    const tensor = info.type!.tensorType!;
    return { name: info.name!, type: { tensorType: { elemType: tensor.elemType!, shape: { dim: [{ dimParam: STEPS_INPUT }, ...(tensor.shape?.dim ?? [])] } } } };
  };
  const outer: onnxProto.onnx.IGraphProto = {
    name: `${graph.name}_repeated`,
    node: [loop],
    input: [scalar(STEPS_INPUT, INT64), ...graph.input!.map((i) => (spec.perStep.includes(i.name!) ? stackedInfo(i) : i))],
    output: [...spec.carried.map(([, output]) => outputs.get(output)!), ...spec.stacked.map((name) => stackedInfo(outputs.get(name)!))],
  };
  return {
    ...model,
    bytes: onnx.ModelProto.encode({ ...proto, graph: outer }).finish(),
    inputNames: [STEPS_INPUT, ...model.inputNames],
  };
}
