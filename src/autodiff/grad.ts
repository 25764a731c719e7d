/**
 * Reverse-mode autodiff over a traced graph. Each op's VJP rule lives beside
 * the op (core/ops); this file only walks the graph backwards, accumulates
 * gradients, and sums them back over broadcast axes.
 */
import { Graph, GraphError, nonDifferentiable, type Node, type Tensor } from '../core/graph.js';
import { isFloat } from '../core/dtype.js';
import { add, reshapeLike, sum } from '../core/ops/index.js';
import { formatShape, shapesAgree, type Dim, type Shape } from '../core/shape.js';

/**
 * Gradients of scalar `loss` with respect to each of `wrt`, added to the same
 * graph. A tensor `loss` does not depend on gets `null`.
 */
export function grad(loss: Tensor, wrt: readonly Tensor[], seed?: Tensor): (Tensor | null)[] {
  const graph = loss.graph;
  if (!seed && loss.rank !== 0 && !loss.shape.every((d) => d === 1)) {
    throw new GraphError(`grad: loss must be a scalar, got shape ${formatShape(loss.shape)}`);
  }
  const needed = nodesBetween(graph, wrt, loss);
  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, seed ?? onesFor(graph, loss));

  // Nodes were appended in topological order, so walking back is reverse topological.
  const nodes = graph.nodes.slice();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!needed.has(node)) continue;
    const outGrads = node.outputs.map((o) => grads.get(o) ?? null);
    if (outGrads.every((g) => g === null)) continue;
    const site = `${node.op.name}${node.scope ? ` in ${node.scope}` : ''}`;
    const flowsTo = (input: Tensor): boolean => isFloat(input.dtype) && dependsOnWrt(input, needed, wrt);
    const vjp = node.op.vjp;
    if (vjp === nonDifferentiable) {
      if (node.inputs.some(flowsTo)) throw new GraphError(`grad: op ${site} is not differentiable`);
      continue;
    }
    const inGrads = graph.scope(node.scope ? `${node.scope}/grad` : 'grad', () =>
      vjp(outGrads, { inputs: node.inputs, outputs: node.outputs, attrs: node.attrs, node }),
    );
    checkContract(site, node, inGrads);
    node.inputs.forEach((input, k) => {
      const g = inGrads[k];
      if (!g || !flowsTo(input)) return;
      const reduced = graph.scope('grad', () => unbroadcast(g, input));
      const prev = grads.get(input);
      grads.set(input, prev ? graph.scope('grad', () => add(prev, reduced)) : reduced);
    });
  }
  return wrt.map((t) => grads.get(t) ?? null);
}

/**
 * A VJP returns one entry per input (null: no gradient), each of which
 * unbroadcasts to exactly its input's shape. A broken rule fails here, at
 * its op, not as a shape error in some later node or at run time.
 */
function checkContract(site: string, node: Node, inGrads: readonly (Tensor | null)[]): void {
  if (inGrads.length !== node.inputs.length) {
    const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
    throw new GraphError(`grad: ${site} returned ${count(inGrads.length, 'gradient')} for its ${count(node.inputs.length, 'input')} (one per input, null for none)`);
  }
  node.inputs.forEach((input, k) => {
    const g = inGrads[k];
    if (g && !shapesAgree(unbroadcastShape(g.shape, input.shape), input.shape)) {
      throw new GraphError(`grad: ${site} returned a gradient of shape ${formatShape(g.shape)} for input ${k} of shape ${formatShape(input.shape)}`);
    }
  });
}

function onesFor(graph: Graph, t: Tensor): Tensor {
  // The constant's bytes must match its dtype (0x3c00 is 1.0 in float16).
  const one = t.dtype === 'float64' ? Float64Array.of(1) : t.dtype === 'float16' ? Uint16Array.of(0x3c00) : Float32Array.of(1);
  return graph.constant(one, t.shape.map(() => 1), t.dtype);
}

/** Nodes on some path from a `wrt` tensor to `loss`. */
function nodesBetween(graph: Graph, wrt: readonly Tensor[], loss: Tensor): Set<Node> {
  const fromWrt = new Set<Tensor>(wrt);
  const forward = new Set<Node>();
  for (const node of graph.nodes) {
    if (node.inputs.some((t) => fromWrt.has(t))) {
      forward.add(node);
      node.outputs.forEach((o) => fromWrt.add(o));
    }
  }
  const onPath = new Set<Node>();
  const toLoss = new Set<Tensor>([loss]);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (forward.has(node) && node.outputs.some((o) => toLoss.has(o))) {
      onPath.add(node);
      node.inputs.forEach((t) => toLoss.add(t));
    }
  }
  return onPath;
}

function dependsOnWrt(t: Tensor, needed: Set<Node>, wrt: readonly Tensor[]): boolean {
  return wrt.includes(t) || (t.source.kind === 'node' && needed.has(t.source.node));
}

/**
 * The shape `unbroadcast` sums `g` down to (before its final reshape): the
 * extra leading axes dropped, axes where the input has size 1 summed to 1.
 */
function unbroadcastShape(g: Shape, input: Shape): Dim[] {
  const lead = g.length - input.length;
  if (lead < 0) return [...g];
  return g.slice(lead).map((d, i) => (input[i] === 1 ? 1 : d));
}

/** Sum `g` over the axes along which `input` was broadcast to produce it. */
export function unbroadcast(g: Tensor, input: Tensor): Tensor {
  const lead = g.rank - input.rank;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (input.shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return g;
  const summed = sum(g, axes, true);
  return lead > 0 || summed.rank !== input.rank ? reshapeLike(summed, input) : summed;
}
