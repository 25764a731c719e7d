/**
 * Trace a small graph over named inputs, compile it once and run it on plain
 * JS arrays: for tests of graph-building code (masks, RoPE, attention) whose
 * results are compared with values computed in JS.
 */
import { trace, type Tensor } from '../../src/core/graph.js';
import type { DType } from '../../src/core/dtype.js';
import type { Shape } from '../../src/core/shape.js';
import { CompiledGraph, float32, int64, type OrtTensor } from '../../src/runtime/session.js';

export interface InputDecl {
  shape: Shape;
  dtype?: 'float32' | 'int64';
}

export interface Feed {
  dims: readonly number[];
  data: ArrayLike<number>;
}

export interface Result {
  dims: number[];
  /** Numbers whatever the output dtype (int64 and bool included). */
  data: number[];
}

export interface RunnableGraph {
  run(feeds: Record<string, Feed>): Promise<Record<string, Result>>;
  release(): Promise<void>;
}

function toOrt(decl: InputDecl, feed: Feed, name: string): OrtTensor {
  const size = feed.dims.reduce((a, b) => a * b, 1);
  if (feed.data.length !== size) throw new Error(`runGraph: input '${name}' has ${feed.data.length} values for dims [${feed.dims.join(', ')}]`);
  return decl.dtype === 'int64' ? int64(Array.from(feed.data), feed.dims) : float32(Float32Array.from(feed.data), feed.dims);
}

/** Compile `build` over `inputs`; variables the graph reads are fed from their current values. */
export async function compileGraph(inputs: Record<string, InputDecl>, build: (ins: Record<string, Tensor>) => Record<string, Tensor>): Promise<RunnableGraph> {
  const names = Object.keys(inputs);
  const { graph, ins, outputs } = trace((g) => {
    const ins: Record<string, Tensor> = {};
    for (const n of names) ins[n] = g.input(n, inputs[n]!.shape, (inputs[n]!.dtype ?? 'float32') as DType);
    return { graph: g, ins, outputs: build(ins) };
  });
  const cg = await CompiledGraph.compile({ graph, inputs: names.map((n) => ins[n]!), outputs, variables: 'inputs' });
  return {
    async run(feeds) {
      const ort = Object.fromEntries(names.map((n) => {
        if (!feeds[n]) throw new Error(`runGraph: no feed for input '${n}'`);
        return [n, toOrt(inputs[n]!, feeds[n]!, n)];
      }));
      const out = await cg.run(ort);
      return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) }]));
    },
    release: () => cg.release(),
  };
}

/** Compile, run once, release. */
export async function runGraph(
  inputs: Record<string, InputDecl & Feed>,
  build: (ins: Record<string, Tensor>) => Record<string, Tensor>,
): Promise<Record<string, Result>> {
  const cg = await compileGraph(inputs, build);
  try {
    return await cg.run(inputs);
  } finally {
    await cg.release();
  }
}
