/**
 * Evaluation graphs: forward pass in inference mode plus scalar outputs (loss,
 * metrics) per batch, with a symbolic batch axis so one session serves every
 * batch size. Weights are fed as inputs, so training never invalidates it.
 */
import { trace, type Tensor } from '../core/graph.js';
import { CallContext, runInChunks, withCallContext, type HostTensor } from '../nn/index.js';
import { CompiledGraph } from '../runtime/session.js';
import { asScalar, type StepInputSpec } from './step-runner.js';

/** Graph inputs, batch axis first (symbolic). */
export type EvalInputSpec = Pick<StepInputSpec, 'name' | 'shape' | 'dtype'>;

export class EvalRunner {
  private constructor(
    private readonly runner: CompiledGraph,
    private readonly inputNames: string[],
    private readonly outputNames: string[],
  ) {}

  /** `forward` returns the named scalars to average over the data. */
  static async compile(name: string, inputs: readonly EvalInputSpec[], forward: (inputs: Record<string, Tensor>) => Record<string, Tensor>): Promise<EvalRunner> {
    const traced = trace((g) => {
      const tensors = Object.fromEntries(inputs.map((i) => [i.name, g.input(i.name, i.shape, i.dtype)]));
      const outputs = withCallContext(new CallContext(false), () => forward(tensors));
      const scalars = Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, asScalar(t, `${name} output '${k}'`)]));
      return { g, inputs: Object.values(tensors), outputs: scalars };
    });
    const runner = await CompiledGraph.compile({ graph: traced.g, inputs: traced.inputs, outputs: traced.outputs, variables: 'inputs', name });
    return new EvalRunner(runner, inputs.map((i) => i.name), Object.keys(traced.outputs));
  }

  /** Means of the outputs over all rows, `batchSize` rows per run, batches weighted by their size. */
  async run(data: readonly HostTensor[], batchSize: number): Promise<Record<string, number>> {
    const rows = data[0]!.rows;
    const sums = Object.fromEntries(this.outputNames.map((n) => [n, 0]));
    for await (const { start, end, out } of runInChunks(this.runner, this.inputNames, data, batchSize, 'evaluate')) {
      for (const n of this.outputNames) sums[n]! += Number(out[n]!.data[0]) * (end - start);
    }
    return Object.fromEntries(this.outputNames.map((n) => [n, sums[n]! / Math.max(rows, 1)]));
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}
