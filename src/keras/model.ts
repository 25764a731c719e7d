/**
 * Models: layers wired into a graph of layer calls. A Model is a Layer, so
 * models nest (a GAN is a Sequential of a generator and a discriminator).
 * `Functional` is built from symbolic inputs and outputs; `Sequential`
 * (sequential.ts) stacks layers. Model sits above train/, as in Keras
 * (`class Model(Trainer, Layer)`), so compile/fit/evaluate are its own methods.
 */
import type { Tensor } from '../core/graph.js';
import { formatShape, type Shape } from '../core/shape.js';
import { CompileCache } from '../runtime/session.js';
import { hostInputList, HostTensor, InferenceRunner, InputLayer, Layer, toHostTensor, type CallContext, type HostInput, type LayerArgs, type LayerCall, type SymbolicTensor } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { History, Results } from '../train/history.js';
import { ModelTrainer, type CompileArgs, type Data, type EvaluateArgs, type FitArgs } from './model-trainer.js';
import { summarize } from './summary.js';

export interface PredictOptions {
  /** Rows per run (default 32, as Keras). */
  batchSize?: number;
}

export abstract class Model extends Layer {
  /** Symbolic inputs and outputs; empty until a Sequential knows its input shape. */
  inputs: SymbolicTensor[] = [];
  outputs: SymbolicTensor[] = [];
  /** Layer calls from inputs to outputs, in topological order (input layers included). */
  protected calls: LayerCall[] = [];
  private readonly inference = new CompileCache<'predict', InferenceRunner>();
  private trainer: ModelTrainer | undefined;

  constructor(args: LayerArgs, namePrefix: string) {
    super(args, namePrefix);
  }

  /** Wire the model: find every layer call between `inputs` and `outputs`. */
  protected setGraph(inputs: readonly SymbolicTensor[], outputs: readonly SymbolicTensor[]): void {
    if (inputs.length === 0 || outputs.length === 0) throw new Error(`${this.where}: a model needs at least one input and one output`);
    for (const t of inputs) {
      if (!(t.producer.layer instanceof InputLayer)) throw new Error(`${this.where}: model inputs must come from input(), received ${t}`);
    }
    const calls = topologicalCalls(outputs);
    for (const call of calls) {
      if (call.layer instanceof InputLayer && !inputs.includes(call.outputs[0]!)) {
        throw new Error(`${this.where}: the outputs depend on input '${call.layer.name}', which is not among the model's inputs`);
      }
    }
    const names = new Set<string>();
    for (const layer of new Set(calls.map((c) => c.layer))) {
      if (layer === this) throw new Error(`${this.where}: a model cannot contain itself`);
      if (names.has(layer.name)) throw new Error(`${this.where}: two layers are named '${layer.name}'; layer names must be unique within a model`);
      names.add(layer.name);
    }
    this.inputs = [...inputs];
    this.outputs = [...outputs];
    this.calls = calls;
    this.built = true;
  }

  /** The layers, in call order (Functional includes its input layers). */
  get layers(): Layer[] {
    return [...new Set(this.calls.map((c) => c.layer))];
  }

  override get scopesWeights(): boolean {
    return true;
  }

  override get sublayers(): Layer[] {
    return this.layers;
  }

  /** The layer named `name`. */
  getLayer(name: string): Layer {
    const layer = this.layers.find((l) => l.name === name);
    if (!layer) throw new Error(`${this.where}: no layer named '${name}'; layers: ${this.layers.map((l) => l.name).join(', ')}`);
    return layer;
  }

  /** Layer calls in topological order, for summaries and configs. */
  get layerCalls(): readonly LayerCall[] {
    return this.calls;
  }

  /** Per-example shapes of the inputs (no batch axis). */
  get inputExampleShapes(): Shape[] {
    return this.inputs.map((t) => t.exampleShape);
  }

  call(x: Tensor, ctx: CallContext): Tensor {
    const outputs = this.callAll([x], ctx);
    if (outputs.length !== 1) throw new Error(`${this.where}: call() returns one tensor but the model has ${outputs.length} outputs; use apply([...])`);
    return outputs[0]!;
  }

  protected override callAll(tensors: readonly Tensor[], ctx: CallContext): Tensor[] {
    if (tensors.length !== this.inputs.length) {
      throw new Error(`${this.where}: expected ${this.inputs.length} inputs, received ${tensors.length}`);
    }
    const values = new Map<SymbolicTensor, Tensor>();
    this.inputs.forEach((s, i) => values.set(s, this.checkInput(tensors[i]!, s, i)));
    for (const call of this.calls) {
      if (call.layer instanceof InputLayer) continue;
      const outs = call.layer.invoke(call.inputs.map((s) => values.get(s)!), ctx);
      call.outputs.forEach((s, i) => values.set(s, outs[i]!));
    }
    return this.outputs.map((s) => values.get(s)!);
  }

  private checkInput(t: Tensor, expected: SymbolicTensor, index: number): Tensor {
    const agrees =
      t.rank === expected.rank &&
      t.shape.every((d, i) => i === 0 || typeof d !== 'number' || typeof expected.shape[i] !== 'number' || d === expected.shape[i]);
    if (!agrees) {
      throw new Error(`${this.where}: input ${index} expected shape ${formatShape(expected.shape)}, received ${formatShape(t.shape)}`);
    }
    return t;
  }

  /** Build from the shape of the data when the model does not know its input yet (Sequential). */
  ensureBuiltFor(exampleShapes: readonly Shape[]): void {
    if (!this.built) this.buildFor(exampleShapes.map((s) => ['batch', ...s]));
  }

  // --- inference ----------------------------------------------------------------

  /** Run the model on `x` in inference mode; the single output, batch axis first. */
  async predict(x: HostInput | readonly HostInput[], opts: PredictOptions = {}): Promise<HostTensor> {
    const outputs = await this.predictOutputs(x, opts);
    if (outputs.length !== 1) throw new Error(`${this.where}: the model has ${outputs.length} outputs; use predictOutputs()`);
    return outputs[0]!;
  }

  /** Like predict, with every output. */
  async predictOutputs(x: HostInput | readonly HostInput[], opts: PredictOptions = {}): Promise<HostTensor[]> {
    const inputs = this.hostInputs(x, 'predict');
    const runner = await this.inference.get('predict', () => InferenceRunner.compile(this));
    return runner.run(inputs, opts.batchSize ?? 32);
  }

  /** `x` as one HostTensor per model input (building a Sequential from it if needed). */
  hostInputs(x: HostInput | readonly HostInput[], method: string): HostTensor[] {
    const list = hostInputList(x, `${this.where}.${method}`);
    if (!this.built) {
      this.ensureBuiltFor(
        list.map((t) => {
          if (t instanceof HostTensor) return t.shape.slice(1);
          throw new Error(`${this.where}.${method}: the model does not know its input shape yet; pass a HostTensor (or give the first layer an inputShape)`);
        }),
      );
    }
    if (list.length !== this.inputs.length) throw new Error(`${this.where}.${method}: expected ${this.inputs.length} inputs, received ${list.length}`);
    const tensors = list.map((t, i) => toHostTensor(t, this.inputs[i]!.exampleShape, `${this.where}.${method}: input ${i}`));
    const rows = tensors[0]!.rows;
    tensors.forEach((t, i) => {
      if (t.rows !== rows) throw new Error(`${this.where}.${method}: input ${i} has ${t.rows} rows but input 0 has ${rows}`);
      const expected = this.inputs[i]!.dtype;
      if (t.dtype !== expected) throw new Error(`${this.where}.${method}: input ${i} is ${t.dtype} data (${t.data.constructor.name}) but the model's input '${this.inputs[i]!.producer.layer.name}' takes ${expected}`);
    });
    return tensors;
  }

  /** Drop compiled inference sessions (after the architecture changed). */
  protected resetInference(): void {
    void this.inference.clear();
  }

  // --- training ------------------------------------------------------------------

  /** Choose the optimizer, loss and metrics; captures which weights are trainable now (Keras' rule). */
  compile(args: CompileArgs): void {
    void this.trainer?.release();
    this.trainer = new ModelTrainer(this, args);
  }

  /** Train for `epochs` over (x, y); returns the per-epoch History. */
  fit(x: Data, y: Data, args?: FitArgs): Promise<History> {
    return this.compiled('fit').fit(x, y, args);
  }

  /** Loss and metrics over (x, y), in inference mode. */
  evaluate(x: Data, y: Data, args?: EvaluateArgs): Promise<Results> {
    return this.compiled('evaluate').evaluate(x, y, args);
  }

  /** One training step on exactly this batch. */
  trainOnBatch(x: Data, y: Data): Promise<Results> {
    return this.compiled('trainOnBatch').trainOnBatch(x, y);
  }

  /** Loss and metrics on exactly this batch, in inference mode. */
  testOnBatch(x: Data, y: Data): Promise<Results> {
    return this.compiled('testOnBatch').evaluate(x, y, { batchSize: Number.MAX_SAFE_INTEGER }, 'testOnBatch');
  }

  /** Set (from a callback) to end the fit in progress after the current batch. */
  get stopTraining(): boolean {
    return this.trainer?.active?.stopTraining ?? false;
  }

  set stopTraining(value: boolean) {
    const active = this.compiled('stopTraining').active;
    if (active) active.stopTraining = value;
  }

  /** The optimizer compile() chose (undefined before compile). */
  get optimizer(): Optimizer | undefined {
    return this.trainer?.optimizer;
  }

  /** The compiled training setup; throws before compile(). */
  compiled(method: string): ModelTrainer {
    if (!this.trainer) throw new Error(`${this.where}.${method}: the model must be compiled first; call compile({ optimizer, loss })`);
    return this.trainer;
  }

  /** A Keras-style table of layers, output shapes and parameter counts. */
  summary(): string {
    return summarize(this);
  }
}

/** Calls reachable backwards from `outputs`, each after the calls producing its inputs. */
function topologicalCalls(outputs: readonly SymbolicTensor[]): LayerCall[] {
  const order: LayerCall[] = [];
  const done = new Set<LayerCall>();
  const visiting = new Set<LayerCall>();
  const visit = (call: LayerCall): void => {
    if (done.has(call)) return;
    if (visiting.has(call)) throw new Error(`model: the layer graph has a cycle through '${call.layer.name}'`);
    visiting.add(call);
    call.inputs.forEach((t) => visit(t.producer));
    visiting.delete(call);
    done.add(call);
    order.push(call);
  };
  outputs.forEach((t) => visit(t.producer));
  return order;
}
