/**
 * The traced graph: symbolic tensors and the nodes that produce them.
 * Ops append nodes to the graph of their inputs; nothing runs until the
 * graph is emitted to ONNX and handed to the runtime.
 */
import type { DType, TensorData } from './dtype.js';
import { formatShape, type Dim, type Shape } from './shape.js';
import type { Variable } from './variable.js';

/** Attribute values; keys starting with '_' are Forja-internal and never emitted. */
export type AttrValue = number | string | readonly number[] | readonly string[] | readonly Dim[] | readonly (readonly Dim[])[];
export type Attrs = Record<string, AttrValue>;
/** How an attribute is written to ONNX (JS numbers cannot tell 1 from 1.0). */
export type AttrType = 'int' | 'float' | 'string' | 'ints' | 'floats' | 'strings';

export interface TensorType {
  shape: Dim[];
  dtype: DType;
}

/** An op's input or output tensors; an op narrows it to a tuple of its arity. */
export type Tensors = readonly Tensor[];

/** One shape and dtype per output. */
export type TypesOf<O extends Tensors> = { -readonly [K in keyof O]: TensorType };

/** One gradient per input, in order (null: no gradient). */
export type InputGrads<I extends Tensors> = { -readonly [K in keyof I]: Tensor | null };

/**
 * The gradients reaching an op's outputs. A single-output op's VJP only runs
 * when its output has a gradient, so that one is never null.
 */
export type OutputGrads<O extends Tensors> = O extends readonly [Tensor] ? readonly [Tensor] : { readonly [K in keyof O]: Tensor | null };

/** Context a VJP rule receives: the node's inputs, outputs and attributes. */
export interface VjpContext<A extends Attrs = Attrs, I extends Tensors = Tensors, O extends Tensors = Tensors> {
  inputs: I;
  outputs: O;
  attrs: A;
  node: Node;
}

/** A vector-Jacobian product: one gradient per input from the outputs' gradients. */
export type VjpRule<A extends Attrs, I extends Tensors, O extends Tensors> = (grads: OutputGrads<O>, ctx: VjpContext<A, I, O>) => InputGrads<I>;

/**
 * The `vjp` of an op no gradient can flow through (comparisons, sampling,
 * shape queries). Saying so is required: grad() refuses to differentiate
 * through such an op's float input, naming the op and its scope.
 */
export const nonDifferentiable: unique symbol = Symbol('nonDifferentiable');

/**
 * One op: its shape rule, how it lowers to ONNX, and its vector-Jacobian
 * product. `I` and `O` are its input and output tuples, so rules destructure
 * typed tensors; every op states its gradient (a rule or `nonDifferentiable`).
 */
export interface OpDef<A extends Attrs = Attrs, I extends Tensors = Tensors, O extends Tensors = readonly [Tensor]> {
  name: string;
  /** ONNX op_type; defaults to `name`. */
  onnx?: string;
  domain?: string;
  attrTypes?: Record<string, AttrType>;
  infer: (inputs: I, attrs: A, where: string) => TypesOf<O>;
  vjp: VjpRule<A, I, O> | typeof nonDifferentiable;
}

/** An op with its attribute and tensor types forgotten, as a node holds it. */
export type AnyOpDef = OpDef<Attrs, Tensors, Tensors>;

export type TensorSource =
  | { kind: 'input' }
  | { kind: 'const'; value: TensorData }
  | { kind: 'param'; variable: Variable }
  | { kind: 'node'; node: Node; index: number };

let nextTensorId = 0;

export class Tensor {
  readonly id = nextTensorId++;

  constructor(
    readonly graph: Graph,
    readonly shape: readonly Dim[],
    readonly dtype: DType,
    readonly source: TensorSource,
    public name?: string,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `Tensor(${this.name ?? `t${this.id}`}, ${this.dtype}${formatShape(this.shape)})`;
  }
}

export class Node {
  constructor(
    readonly op: AnyOpDef,
    readonly inputs: Tensor[],
    readonly attrs: Attrs,
    readonly outputs: Tensor[],
    readonly scope: string,
  ) {}
}

export class GraphError extends Error {
  override name = 'GraphError';
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  private readonly params = new Map<Variable, Tensor>();
  private readonly scopes: string[] = [];

  /** A named runtime input. Dimensions may be symbolic ('batch'). */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Tensor {
    if (this.inputs.some((t) => t.name === name)) throw new GraphError(`graph input '${name}' is declared twice`);
    const t = new Tensor(this, [...shape], dtype, { kind: 'input' }, name);
    this.inputs.push(t);
    return t;
  }

  constant(value: TensorData, shape: readonly number[], dtype: DType): Tensor {
    return new Tensor(this, [...shape], dtype, { kind: 'const', value });
  }

  /** The tensor standing for a variable in this graph (one per variable). */
  param(variable: Variable): Tensor {
    let t = this.params.get(variable);
    if (!t) {
      t = new Tensor(this, [...variable.shape], 'float32', { kind: 'param', variable }, variable.name);
      this.params.set(variable, t);
    }
    return t;
  }

  get variables(): Variable[] {
    return [...this.params.keys()];
  }

  /** Run `fn` with `name` pushed on the scope path used in error messages. */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  get scopePath(): string {
    return this.scopes.join('/');
  }

  /** Append a node applying `op`; returns its outputs. */
  apply<A extends Attrs, I extends Tensors, O extends Tensors>(op: OpDef<A, I, O>, inputs: NoInfer<I>, attrs: NoInfer<A>): O {
    for (const t of inputs) {
      if (t.graph !== this) throw new GraphError(`${op.name}: input ${t} belongs to another graph`);
    }
    const where = this.scopes.length ? `${this.scopePath} (${op.name})` : op.name;
    const types: readonly TensorType[] = op.infer(inputs, attrs, where);
    // The node keeps the op untyped; `infer` gave one type per output, so the outputs match `O`.
    const node = new Node(op as unknown as AnyOpDef, [...inputs], attrs, [], this.scopePath);
    types.forEach((t, i) => node.outputs.push(new Tensor(this, t.shape, t.dtype, { kind: 'node', node, index: i })));
    this.nodes.push(node);
    return node.outputs as unknown as O;
  }
}

// ---------------------------------------------------------------------------
// The current graph, so model code can write `ops.matmul(x, w)` without
// threading a graph through every call.

const graphStack: Graph[] = [];

export function currentGraph(): Graph {
  const g = graphStack[graphStack.length - 1];
  if (!g) throw new GraphError('no graph is being traced: call this inside trace(() => ...)');
  return g;
}

/** Trace `fn` into `graph` (a new one by default). */
export function trace<T>(fn: (graph: Graph) => T, graph = new Graph()): T {
  graphStack.push(graph);
  try {
    return fn(graph);
  } finally {
    graphStack.pop();
  }
}
