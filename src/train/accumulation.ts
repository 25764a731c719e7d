/**
 * Gradient accumulation: one optimizer step over several micro-batches, each
 * one graph and one session.run, with the update of one step on their
 * concatenation.
 *
 * A micro-batch's forward returns its share of the step's loss (its summed
 * token losses over the step's total token count, say), so the shares add up
 * to the whole batch's loss and their gradients to its gradient. The
 * 'accumulate' graph adds a micro-batch's gradient into one sum Variable per
 * parameter; the 'apply' graph adds the last micro-batch's gradient to the
 * sums and hands the total to the optimizer, so clipping sees the whole
 * step's gradient norm. The sums are zeroed after every step, failed or not:
 * between steps they are 0, so a checkpoint never needs them.
 *
 * With one micro-batch per step no sums exist and each step is a plain
 * StepRunner, so accumulation costs nothing when it is off.
 */
import { currentGraph, type Tensor } from '../core/graph.js';
import * as F from '../core/ops/index.js';
import { Variable } from '../core/variable.js';
import type { HostData } from '../nn/index.js';
import type { Optimizer, ParamGradient } from '../optim/index.js';
import { CompileCache } from '../runtime/session.js';
import { StepRunner, type StepForward, type StepInputSpec } from './step-runner.js';

/** Graph signatures are told apart by a key (e.g. the padded sequence length). */
export type SignatureKey = string | number;

export interface AccumulationSpec<K extends SignatureKey> {
  name: string;
  /** The inputs of a micro-batch of signature `key` (static shapes). */
  inputs(key: K): readonly StepInputSpec[];
  /** The micro-batch's share of the step's loss; traced in a training CallContext. */
  forward(inputs: Record<string, Tensor>, key: K): StepForward;
  /** The variables to train, resolved after `forward` is traced. */
  trainable: () => readonly Variable[];
  optimizer: Optimizer;
  /** Most micro-batches in one step (≥ 1). */
  microBatches: number;
}

/** One micro-batch: its signature, and how to put its data into the runner's input buffers. */
export interface MicroBatch<K extends SignatureKey> {
  key: K;
  fill(buffers: Record<string, HostData>): void;
}

export interface AccumulatedOutcome {
  /** Sum of the micro-batches' losses: the step's loss (NaN or ±Inf when it failed). */
  loss: number;
  /** False when a micro-batch's loss was not finite: nothing was assigned and the optimizer did not step. */
  committed: boolean;
  /** Micro-batches run (a failure stops at the one that failed). */
  ran: number;
}

type Kind = 'plain' | 'accumulate' | 'apply';

export class GradientAccumulator<K extends SignatureKey> {
  private readonly runners = new CompileCache<string, StepRunner>();
  /** The gradient sum of each parameter, created while tracing. */
  private readonly sums = new Map<Variable, Variable>();

  constructor(private readonly spec: AccumulationSpec<K>) {
    if (!Number.isInteger(spec.microBatches) || spec.microBatches < 1) {
      throw new Error(`${spec.name}: microBatches must be a positive integer, received ${spec.microBatches}`);
    }
  }

  /** The gradient sums (all zero between steps; none with one micro-batch per step). */
  get variables(): Variable[] {
    return [...this.sums.values()];
  }

  /** Compile, before training, the graphs steps of these signatures run (so the first step's time is the step's). */
  async prepare(keys: readonly K[]): Promise<void> {
    const kinds: Kind[] = this.spec.microBatches === 1 ? ['plain'] : ['accumulate', 'apply'];
    for (const key of new Set(keys)) for (const kind of kinds) await this.runner(kind, key);
  }

  /** One optimizer step over `micro` (1 to microBatches micro-batches, run in order). */
  async step(micro: readonly MicroBatch<K>[]): Promise<AccumulatedOutcome> {
    const n = micro.length;
    if (n < 1 || n > this.spec.microBatches) {
      throw new Error(`${this.spec.name}: a step takes 1 to ${this.spec.microBatches} micro-batches, received ${n}`);
    }
    if (this.spec.microBatches === 1) {
      const { loss, committed } = await this.run('plain', micro[0]!);
      return { loss, committed, ran: 1 };
    }
    let loss = 0;
    try {
      for (let i = 0; i < n; i++) {
        const out = await this.run(i < n - 1 ? 'accumulate' : 'apply', micro[i]!);
        loss += out.loss;
        if (!out.committed) return { loss: out.loss, committed: false, ran: i + 1 };
      }
      return { loss, committed: true, ran: n };
    } finally {
      for (const sum of this.sums.values()) sum.value.fill(0);
    }
  }

  private async run(kind: Kind, batch: MicroBatch<K>): Promise<{ loss: number; committed: boolean }> {
    const runner = await this.runner(kind, batch.key);
    batch.fill(runner.buffers);
    return runner.run();
  }

  private runner(kind: Kind, key: K): Promise<StepRunner> {
    return this.runners.get(`${kind}:${key}`, () => this.compile(kind, key));
  }

  private compile(kind: Kind, key: K): Promise<StepRunner> {
    const { spec } = this;
    return StepRunner.compile({
      name: `${spec.name}_${kind}_${key}`,
      inputs: spec.inputs(key),
      forward: (inputs) => spec.forward(inputs, key),
      trainable: spec.trainable,
      optimizer: spec.optimizer,
      ...(kind === 'accumulate' && {
        applyGradients: (pairs: readonly ParamGradient[]) => new Map(pairs.map(({ variable, grad }) => [this.sumOf(variable), F.add(this.read(variable), grad)])),
        countsAsStep: false,
      }),
      ...(kind === 'apply' && {
        applyGradients: (pairs, scalars) => spec.optimizer.applyGradients(pairs.map(({ variable, grad }) => ({ variable, grad: F.add(this.read(variable), grad) })), scalars),
      }),
    });
  }

  private sumOf(param: Variable): Variable {
    let sum = this.sums.get(param);
    if (!sum) {
      sum = new Variable(`accumulated/${param.name}`, param.shape, undefined, false);
      this.sums.set(param, sum);
    }
    return sum;
  }

  /** The gradient sum of `param` in the graph being traced. */
  private read(param: Variable): Tensor {
    return currentGraph().param(this.sumOf(param));
  }

  async release(): Promise<void> {
    await this.runners.clear();
  }
}
