/**
 * What a layer's `call` knows besides its inputs: whether it runs in training
 * mode, and where to record new values of state variables (BatchNorm's
 * moving statistics) that the training step writes back after its run.
 */
import type { Tensor } from '../core/graph.js';
import type { Variable } from '../core/variable.js';

export class CallContext {
  constructor(
    readonly training: boolean,
    /** Collected new values of state variables; null when nothing will write them back. */
    private readonly updates: Map<Variable, Tensor> | null = null,
  ) {}

  /** A training context that collects state updates for the step graph. */
  static forTraining(): CallContext {
    return new CallContext(true, new Map());
  }

  get stateUpdates(): ReadonlyMap<Variable, Tensor> {
    return this.updates ?? new Map();
  }

  /** Record `value` as the next value of `variable` (dropped outside training graphs). */
  updateState(variable: Variable, value: Tensor): void {
    this.updates?.set(variable, value);
  }

  /** The same context with another training flag; updates still land here. */
  withTraining(training: boolean): CallContext {
    return training === this.training ? this : new CallContext(training, this.updates);
  }
}

const contexts: CallContext[] = [];
const INFERENCE = new CallContext(false);

/** The context for layers called on plain tensors: the innermost `withCallContext`, else inference. */
export function currentCallContext(): CallContext {
  return contexts[contexts.length - 1] ?? INFERENCE;
}

/** Run `fn` with `ctx` as the current call context. */
export function withCallContext<T>(ctx: CallContext, fn: () => T): T {
  contexts.push(ctx);
  try {
    return fn();
  } finally {
    contexts.pop();
  }
}
