import { elementCount, type Dim } from './shape.js';

let nextVariableId = 0;

/**
 * A named, stateful tensor living in JS memory: a layer weight, an optimizer
 * moment, a BatchNorm running mean. Graphs reference it; training steps feed
 * its value in and write the new value back.
 */
export class Variable {
  readonly id = nextVariableId++;
  value: Float32Array;

  constructor(
    public name: string,
    readonly shape: readonly number[],
    value?: Float32Array,
    public trainable = true,
  ) {
    const size = elementCount(shape);
    if (value && value.length !== size) {
      throw new Error(`Variable '${name}': value has ${value.length} elements but shape [${shape.join(', ')}] needs ${size}`);
    }
    this.value = value ?? new Float32Array(size);
  }

  get size(): number {
    return this.value.length;
  }

  /** Replace the value, checking the size. */
  assign(value: Float32Array, source = 'assign'): void {
    if (value.length !== this.value.length) {
      throw new Error(`Variable '${this.name}' (${source}): got ${value.length} elements, expected ${this.value.length} for shape [${this.shape.join(', ')}]`);
    }
    this.value = value;
  }

  get dims(): Dim[] {
    return [...this.shape];
  }
}
