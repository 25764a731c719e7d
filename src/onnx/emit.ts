/**
 * Graph → ONNX ModelProto bytes. Only nodes the requested outputs depend on
 * are emitted. Variables become graph inputs (training: values flow in and
 * out every step) or initializers (inference: weights live in the session).
 */
import onnxProto from 'onnx-proto';
import { ONNX_DTYPE, type TensorData } from '../core/dtype.js';
import type { AttrType, AttrValue, Graph, Node, Tensor } from '../core/graph.js';
import type { Variable } from '../core/variable.js';

const { onnx } = onnxProto;

export const OPSET = 20;
const IR_VERSION = 9;

export interface EmitOptions {
  graph: Graph;
  /** Runtime inputs, in order. Graph inputs not listed are an error if used. */
  inputs: readonly Tensor[];
  /** Named outputs. */
  outputs: Record<string, Tensor>;
  /** 'inputs': variables are fed each run; 'initializers': baked into the model. */
  variables: 'inputs' | 'initializers';
  /** With variables: 'inputs', these are baked in anyway (frozen weights). */
  frozen?: ReadonlySet<Variable>;
  name?: string;
}

export interface EmittedModel {
  bytes: Uint8Array;
  inputNames: string[];
  /** Variables fed as inputs, in input order after `inputNames`. */
  variableInputs: Variable[];
  variableInputNames: string[];
  outputNames: string[];
}

export function emitModel(opts: EmitOptions): EmittedModel {
  const outputs = Object.entries(opts.outputs);
  const live = liveNodes(outputs.map(([, t]) => t));
  const names = new Map<Tensor, string>();
  const used = new Set<string>();
  const uniqueName = (base: string): string => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  const nameOf = (t: Tensor): string => {
    let n = names.get(t);
    if (!n) {
      n = uniqueName(t.name ?? `t${t.id}`);
      names.set(t, n);
    }
    return n;
  };
  for (const t of opts.inputs) {
    if (t.source.kind !== 'input') throw new Error(`emitModel: ${t} is not a graph input`);
    nameOf(t);
  }
  // An output produced by a node takes the output's name; a leaf, or a tensor
  // that is already named (an input, or a second output), gets an Identity.
  const identities: [string, Tensor][] = [];
  for (const [name, t] of outputs) {
    if (used.has(name)) throw new Error(`emitModel: output name '${name}' is used twice`);
    used.add(name);
    if (t.source.kind === 'node' && !names.has(t)) names.set(t, name);
    else identities.push([name, t]);
  }

  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const variableInputs: Variable[] = [];
  const variableInputNames: string[] = [];
  const seenLeaves = new Set<Tensor>();

  const visitLeaf = (t: Tensor): void => {
    if (seenLeaves.has(t)) return;
    seenLeaves.add(t);
    const src = t.source;
    if (src.kind === 'const') initializers.push(tensorProto(nameOf(t), t.shape as number[], t.dtype, src.value));
    else if (src.kind === 'param') {
      const v = src.variable;
      if (opts.variables === 'initializers' || opts.frozen?.has(v)) {
        initializers.push(tensorProto(nameOf(t), v.shape, 'float32', v.value));
      } else {
        variableInputs.push(v);
        variableInputNames.push(nameOf(t));
      }
    } else if (src.kind === 'input' && !opts.inputs.includes(t)) {
      throw new Error(`emitModel: the outputs depend on graph input '${t.name}', which was not listed as an input`);
    }
  };

  for (const node of live) {
    node.inputs.forEach(visitLeaf);
    nodes.push({
      opType: node.op.onnx ?? node.op.name,
      domain: node.op.domain ?? '',
      input: node.inputs.map(nameOf),
      output: node.outputs.map(nameOf),
      attribute: attributes(node),
      name: `${node.scope ? node.scope + '/' : ''}${node.op.name}_${node.outputs[0]!.id}`,
    });
  }

  for (const [name, t] of identities) {
    visitLeaf(t);
    nodes.push({ opType: 'Identity', input: [nameOf(t)], output: [name], name: `output_${name}` });
  }

  const valueInfo = (name: string, t: { shape: readonly (number | string)[]; dtype: keyof typeof ONNX_DTYPE }) => ({
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[t.dtype],
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });

  const inputNames = opts.inputs.map(nameOf);
  const graphProto: onnxProto.onnx.IGraphProto = {
    name: opts.name ?? 'forja',
    node: nodes,
    initializer: initializers,
    input: [
      ...opts.inputs.map((t) => valueInfo(nameOf(t), t)),
      ...variableInputs.map((v, i) => valueInfo(variableInputNames[i]!, { shape: v.shape, dtype: 'float32' })),
    ],
    output: outputs.map(([name, t]) => valueInfo(name, t)),
  };
  const model: onnxProto.onnx.IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'forja',
    opsetImport: opsetImports(live),
    graph: graphProto,
  };
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    inputNames,
    variableInputs,
    variableInputNames,
    outputNames: outputs.map(([n]) => n),
  };
}

/** The default opset plus version 1 of any other domain a node uses (e.g. com.microsoft). */
function opsetImports(nodes: readonly Node[]): onnxProto.onnx.IOperatorSetIdProto[] {
  const domains = new Set(nodes.map((n) => n.op.domain ?? '').filter((d) => d !== ''));
  return [{ domain: '', version: OPSET }, ...[...domains].map((domain) => ({ domain, version: 1 }))];
}

/** Nodes the outputs depend on, in graph (topological) order. */
function liveNodes(outputs: Tensor[]): Node[] {
  const live = new Set<Node>();
  const stack = [...outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (t.source.kind !== 'node' || live.has(t.source.node)) continue;
    live.add(t.source.node);
    stack.push(...t.source.node.inputs);
  }
  const graph = outputs[0]?.graph;
  return graph ? graph.nodes.filter((n) => live.has(n)) : [];
}

const ATTR = onnx.AttributeProto.AttributeType;

function attributes(node: Node): onnxProto.onnx.IAttributeProto[] {
  const types = node.op.attrTypes ?? {};
  return Object.entries(types).flatMap(([name, type]) => {
    const v = node.attrs[name];
    return v === undefined ? [] : [attribute(name, type, v)];
  });
}

function attribute(name: string, type: AttrType, v: AttrValue): onnxProto.onnx.IAttributeProto {
  switch (type) {
    case 'int':
      return { name, type: ATTR.INT, i: v as number };
    case 'float':
      return { name, type: ATTR.FLOAT, f: v as number };
    case 'string':
      return { name, type: ATTR.STRING, s: new TextEncoder().encode(v as string) };
    case 'ints':
      return { name, type: ATTR.INTS, ints: [...(v as number[])] };
    case 'floats':
      return { name, type: ATTR.FLOATS, floats: [...(v as number[])] };
    case 'strings':
      return { name, type: ATTR.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
  }
}

export function tensorProto(name: string, dims: readonly number[], dtype: keyof typeof ONNX_DTYPE, data: TensorData): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims: [...dims],
    dataType: ONNX_DTYPE[dtype],
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}
