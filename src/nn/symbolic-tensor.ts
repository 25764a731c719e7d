/**
 * Keras' symbolic tensors: the placeholders the functional API wires layers
 * with. Each one remembers the layer call that produced it, so a Model can
 * walk from its outputs back to its inputs.
 */
import type { DType } from '../core/dtype.js';
import { formatShape, type Dim } from '../core/shape.js';
import type { Layer } from './layer.js';

/** One application of a layer in a functional graph. */
export class LayerCall {
  readonly outputs: SymbolicTensor[] = [];

  constructor(
    readonly layer: Layer,
    readonly inputs: readonly SymbolicTensor[],
  ) {}
}

export class SymbolicTensor {
  constructor(
    /** Full shape, batch axis first ('batch' when unknown). */
    readonly shape: readonly Dim[],
    readonly dtype: DType,
    readonly producer: LayerCall,
    /** Which output of the producing call this is. */
    readonly index: number,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** Shape without the batch axis. */
  get exampleShape(): Dim[] {
    return this.shape.slice(1);
  }

  toString(): string {
    return `SymbolicTensor(${this.producer.layer.name}:${this.index}, ${this.dtype}${formatShape(this.shape)})`;
  }
}
