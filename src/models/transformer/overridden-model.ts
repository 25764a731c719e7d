/**
 * A causal LM that is its base model with some modules' weights supplied through ModuleOverrides (quantized
 * linear maps, GGUF blocks). Overrides the caller passes still apply to the modules this model leaves alone.
 */
import { currentGraph, type Graph, type Tensor } from '../../core/graph.js';
import type { Variable } from '../../core/variable.js';
import type { ModuleOverrides } from './layers.js';
import type { CausalLmDims, CausalLmInputs, CausalLmModel, CausalLmOutputs } from './types.js';

export abstract class OverriddenModel implements CausalLmModel {
  private readonly graphs = new WeakMap<Graph, Map<string, Tensor>>();

  constructor(
    /** Built over the float weights only. */
    readonly base: CausalLmModel,
  ) {}

  get architecture(): string {
    return this.base.architecture;
  }

  get dims(): CausalLmDims {
    return this.base.dims;
  }

  /** The float weights (overridden modules have none). */
  get weights(): ReadonlyMap<string, Variable> {
    return this.base.weights;
  }

  forward(inputs: CausalLmInputs): CausalLmOutputs {
    const own = this.overrides(currentGraph());
    const outer = inputs.overrides;
    const overrides: ModuleOverrides = outer
      ? { linear: (m) => own.linear(m) ?? outer.linear(m), embedding: (m) => own.embedding(m) ?? outer.embedding(m) }
      : own;
    return this.base.forward({ ...inputs, overrides });
  }

  /** This model's hooks for the modules it supplies, in `graph`. */
  abstract overrides(graph: Graph): ModuleOverrides;

  /** One initializer per graph and name, shared by its users (a tied head and its gather read one table). */
  protected constant(graph: Graph, name: string, data: Uint8Array | Float32Array | Uint16Array, shape: number[]): Tensor {
    let constants = this.graphs.get(graph);
    if (!constants) this.graphs.set(graph, (constants = new Map()));
    let t = constants.get(name);
    if (!t) {
      t = graph.constant(data, shape, data instanceof Float32Array ? 'float32' : data instanceof Uint16Array ? 'float16' : 'uint8');
      t.name = name;
      constants.set(name, t);
    }
    return t;
  }
}
