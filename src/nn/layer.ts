/**
 * The Layer base class, Keras-style: weights are created lazily in
 * `build(inputShape)` through `addWeight`; `call` traces core ops; `apply`
 * either wires the layer into a functional graph (symbolic inputs) or runs
 * `call` in the graph being traced (tensor inputs). Output shapes always come
 * from tracing `call`, so layers carry no shape-inference code of their own.
 */
import type { DType } from '../core/dtype.js';
import { currentGraph, Tensor, trace } from '../core/graph.js';
import { formatShape, type Dim, type Shape } from '../core/shape.js';
import { Variable } from '../core/variable.js';
import { CallContext, currentCallContext } from './call-context.js';
import { HostTensor } from './host-tensor.js';
import { getInitializer, type Fans, type InitializerSpec } from './initializers.js';
import { LayerCall, SymbolicTensor } from './symbolic-tensor.js';

export interface LayerArgs {
  /** Unique name; default: the layer kind plus a counter (dense, dense_1, ...). */
  name?: string;
  trainable?: boolean;
  /** Per-example input shape (no batch axis). On a Sequential's first layer it fixes the model's input. */
  inputShape?: readonly Dim[];
  /** dtype of that input (default float32). */
  inputDtype?: DType;
}

/** A layer's constructor arguments as saved in config.json. */
export interface LayerConfig {
  name: string;
  [key: string]: unknown;
}

export interface ApplyOptions {
  /** Overrides the training flag of the graph being traced (tensor inputs only). */
  training?: boolean;
}

export interface AddWeightOptions {
  trainable?: boolean;
  /** Fans for variance-scaling initializers when the weight layout is not Keras' default. */
  fans?: Fans;
}

const usedNames = new Set<string>();
const nameCounters = new Map<string, number>();

/** `prefix`, then prefix_1, prefix_2, ...: Keras' automatic layer names, never reusing a name in this process. */
export function uniqueLayerName(prefix: string): string {
  let n = nameCounters.get(prefix) ?? 0;
  let name = n === 0 ? prefix : `${prefix}_${n}`;
  while (usedNames.has(name)) name = `${prefix}_${++n}`;
  nameCounters.set(prefix, n + 1);
  usedNames.add(name);
  return name;
}

export abstract class Layer {
  /** Registry name used in config.json and summaries ('Dense'). */
  abstract readonly className: string;
  readonly name: string;
  built = false;
  /** The per-example input shape given at construction, if any. */
  readonly inputShape?: readonly Dim[];
  readonly inputDtype: DType;
  private trainableFlag: boolean;
  private readonly ownWeights: { name: string; variable: Variable }[] = [];

  constructor(args: LayerArgs, namePrefix: string) {
    if (args.name !== undefined && !/^[A-Za-z0-9_.\-]+$/.test(args.name)) {
      throw new Error(`${namePrefix}: layer names may hold letters, digits, '_', '.' and '-', received name=${JSON.stringify(args.name)}`);
    }
    this.name = args.name ?? uniqueLayerName(namePrefix);
    usedNames.add(this.name);
    this.trainableFlag = args.trainable ?? true;
    if (args.inputShape) this.inputShape = [...args.inputShape];
    this.inputDtype = args.inputDtype ?? 'float32';
  }

  /** "Dense 'dense_1'", the prefix of this layer's error messages. */
  get where(): string {
    return `${this.className} '${this.name}'`;
  }

  /** When false, the layer's weights (and its sublayers') are not updated by training compiled afterwards. */
  get trainable(): boolean {
    return this.trainableFlag;
  }

  set trainable(value: boolean) {
    this.trainableFlag = value;
  }

  /** Create the weights for inputs of `inputShape` (batch axis first). */
  build(_inputShape: Shape): void {
    this.built = true;
  }

  /** The computation, on tensors of the graph being traced. */
  abstract call(input: Tensor, ctx: CallContext): Tensor;

  /** Layers nested inside this one (a model's layers). */
  /** Models prefix their layers' weight paths with their own name when nested ('generator/dense/kernel'). */
  get scopesWeights(): boolean {
    return false;
  }

  get sublayers(): Layer[] {
    return [];
  }

  /** Constructor arguments, JSON-serialisable (config.json). */
  getConfig(): LayerConfig {
    return {
      name: this.name,
      trainable: this.trainable,
      ...(this.inputShape ? { inputShape: [...this.inputShape] } : {}),
      ...(this.inputShape && this.inputDtype !== 'float32' ? { inputDtype: this.inputDtype } : {}),
    };
  }

  // --- weights ----------------------------------------------------------------

  /** Create a weight named `<layer>/<name>`, initialised now. */
  protected addWeight(name: string, shape: readonly number[], init: InitializerSpec, opts: AddWeightOptions = {}): Variable {
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`${this.where}: weight '${name}' needs a static positive shape, received ${formatShape(shape)}`);
    }
    const values = getInitializer(init).init(shape, opts.fans);
    const variable = new Variable(`${this.name}/${name}`, shape, values, opts.trainable ?? true);
    this.ownWeights.push({ name, variable });
    return variable;
  }

  /** This layer's weights with their names relative to the layer ('kernel'). */
  get ownWeightEntries(): readonly { name: string; variable: Variable }[] {
    return this.ownWeights;
  }

  /** Every weight, own ones first (in creation order), then the sublayers'. */
  get weights(): Variable[] {
    return unique([...this.ownWeights.map((w) => w.variable), ...this.sublayers.flatMap((l) => l.weights)]);
  }

  /** Weights training updates: none when this layer is not trainable. */
  get trainableWeights(): Variable[] {
    if (!this.trainable) return [];
    return unique([...this.ownWeights.map((w) => w.variable).filter((v) => v.trainable), ...this.sublayers.flatMap((l) => l.trainableWeights)]);
  }

  get nonTrainableWeights(): Variable[] {
    const trainable = new Set(this.trainableWeights);
    return this.weights.filter((v) => !trainable.has(v));
  }

  countParams(): number {
    return this.weights.reduce((n, v) => n + v.size, 0);
  }

  /** Copies of the weight values, in `weights` order. */
  getWeights(): HostTensor[] {
    return this.weights.map((v) => new HostTensor(Float32Array.from(v.value), v.shape));
  }

  /** Replace the weight values (copied), in `weights` order; shapes must match. */
  setWeights(values: readonly (HostTensor | Float32Array)[]): void {
    const weights = this.weights;
    const expected = (): string => weights.map((v) => `${v.name} ${formatShape(v.shape)}`).join(', ');
    if (values.length !== weights.length) {
      throw new Error(`${this.where}: setWeights expected ${weights.length} arrays (${expected()}), received ${values.length}`);
    }
    weights.forEach((v, i) => {
      const value = values[i]!;
      if (value instanceof HostTensor) {
        if (!(value.data instanceof Float32Array) || value.shape.join() !== v.shape.join()) {
          throw new Error(`${this.where}: setWeights: weight '${v.name}' has shape ${formatShape(v.shape)}, received ${value}`);
        }
        v.assign(Float32Array.from(value.data), `${this.where} setWeights`);
      } else {
        v.assign(Float32Array.from(value), `${this.where} setWeights`);
      }
    });
  }

  // --- calling ----------------------------------------------------------------------

  /** Build if needed, then run `call` inside this layer's graph scope. Used by models and `apply`. */
  invoke(inputs: readonly Tensor[], ctx: CallContext): Tensor[] {
    const graph = inputs[0]?.graph ?? currentGraph();
    return graph.scope(this.name, () => {
      if (!this.built) {
        this.buildFor(inputs.map((t) => t.shape));
        this.built = true;
      }
      return this.callAll(inputs, ctx);
    });
  }

  /** Build for the shapes of every input; single-input layers check there is one. */
  protected buildFor(shapes: readonly Shape[]): void {
    this.build(this.single(shapes, 'input'));
  }

  /** Run on every input; single-input layers check there is one. */
  protected callAll(inputs: readonly Tensor[], ctx: CallContext): Tensor[] {
    return [this.call(this.single(inputs, 'input'), ctx)];
  }

  private single<T>(list: readonly T[], what: string): T {
    if (list.length !== 1) throw new Error(`${this.where}: expected 1 ${what}, received ${list.length}`);
    return list[0]!;
  }

  /**
   * Call the layer. On symbolic tensors (from `input()`), records the call
   * for the functional API and returns symbolic outputs. On tensors of a graph
   * being traced (inside a TrainStep loss, say), runs the layer there.
   */
  apply(input: SymbolicTensor, options?: ApplyOptions): SymbolicTensor;
  apply(inputs: readonly SymbolicTensor[], options?: ApplyOptions): SymbolicTensor[];
  apply(input: Tensor, options?: ApplyOptions): Tensor;
  apply(inputs: readonly Tensor[], options?: ApplyOptions): Tensor[];
  apply(
    x: SymbolicTensor | Tensor | readonly SymbolicTensor[] | readonly Tensor[],
    options: ApplyOptions = {},
  ): SymbolicTensor | Tensor | SymbolicTensor[] | Tensor[] {
    const isSingle = x instanceof SymbolicTensor || x instanceof Tensor;
    const list: readonly (SymbolicTensor | Tensor)[] = isSingle ? [x] : x;
    if (list.length > 0 && list.every((t): t is SymbolicTensor => t instanceof SymbolicTensor)) {
      if (options.training !== undefined) throw new Error(`${this.where}: 'training' applies to tensor inputs, not symbolic ones`);
      const outputs = this.applySymbolic(list);
      return isSingle ? this.single(outputs, 'output') : outputs;
    }
    if (list.length > 0 && list.every((t): t is Tensor => t instanceof Tensor)) {
      const ctx = currentCallContext();
      const outputs = this.invoke(list, options.training === undefined ? ctx : ctx.withTraining(options.training));
      return isSingle ? this.single(outputs, 'output') : outputs;
    }
    throw new Error(`${this.where}: apply expects symbolic tensors (from input()) or traced tensors, not a mix or nothing; received ${list.length} inputs`);
  }

  /** Record a call on symbolic inputs; the outputs' shapes come from tracing `call`. */
  private applySymbolic(inputs: readonly SymbolicTensor[]): SymbolicTensor[] {
    const outputs = trace((g) => this.invoke(inputs.map((s, i) => g.input(`input_${i}`, s.shape, s.dtype)), new CallContext(false)));
    const call = new LayerCall(this, inputs);
    outputs.forEach((t, i) => call.outputs.push(new SymbolicTensor(t.shape, t.dtype, call, i)));
    return call.outputs;
  }

  toString(): string {
    return `${this.className}(${this.name})`;
  }
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** The graph tensor for `variable` in the graph being traced. */
export function read(variable: Variable): Tensor {
  return currentGraph().param(variable);
}
