/**
 * Inference graphs for predict: the model's forward pass in inference mode,
 * with a symbolic batch so one session serves every chunk size. Weights are
 * fed as inputs (no copy), so a session stays valid while training changes
 * them and never has to be recompiled.
 */
import type { DType } from '../core/dtype.js';
import { trace, type Tensor } from '../core/graph.js';
import { elementCount } from '../core/shape.js';
import { CallContext } from './call-context.js';
import { allocate, copyData, HostTensor, isHostData } from './host-tensor.js';
import type { Layer } from './layer.js';
import { CompiledGraph, viewTensor, type OrtTensor } from '../runtime/session.js';
import type { SymbolicTensor } from './symbolic-tensor.js';

/** What the runner needs to know about a model: its symbolic inputs and how to call it. */
export interface InferenceModel extends Layer {
  inputs: SymbolicTensor[];
}

export class InferenceRunner {
  private constructor(
    private readonly runner: CompiledGraph,
    private readonly inputNames: string[],
    private readonly outputs: { name: string; tensor: Tensor }[],
  ) {}

  static async compile(model: InferenceModel): Promise<InferenceRunner> {
    const { graph, inputs, outputs } = trace((g) => {
      const inputs = model.inputs.map((s, i) => g.input(`input_${i}`, s.shape, s.dtype));
      const outputs = model.invoke(inputs, new CallContext(false)).map((tensor, i) => ({ name: `output_${i}`, tensor }));
      return { graph: g, inputs, outputs };
    });
    const runner = await CompiledGraph.compile({
      graph,
      inputs,
      outputs: Object.fromEntries(outputs.map((o) => [o.name, o.tensor])),
      variables: 'inputs',
      name: `${model.name}_predict`,
    });
    return new InferenceRunner(runner, inputs.map((t) => t.name!), outputs);
  }

  /** Outputs for all rows of `inputs`, run `batchSize` rows at a time. */
  async run(inputs: readonly HostTensor[], batchSize: number): Promise<HostTensor[]> {
    const rows = inputs[0]!.rows;
    const results: (HostTensor | null)[] = this.outputs.map(() => null);
    for await (const { start, out } of runInChunks(this.runner, this.inputNames, inputs, batchSize, 'predict')) {
      this.outputs.forEach(({ name }, i) => {
        const t = out[name]!;
        const dims = t.dims.map(Number);
        const result = (results[i] ??= new HostTensor(allocate(this.outputDtype(i), rows * elementCount(dims.slice(1))), [rows, ...dims.slice(1)]));
        copyRows(result, t, start);
      });
    }
    return results.map((r, i) => r ?? new HostTensor(allocate(this.outputDtype(i), 0), [0]));
  }

  private outputDtype(i: number): DType {
    return this.outputs[i]!.tensor.dtype;
  }

  async release(): Promise<void> {
    await this.runner.release();
  }
}

/**
 * Run `compiled` over all rows of `data`, `batchSize` rows per run (the graph
 * has a symbolic batch axis); yields each chunk's row range and outputs.
 */
export async function* runInChunks(
  compiled: CompiledGraph,
  inputNames: readonly string[],
  data: readonly HostTensor[],
  batchSize: number,
  where: string,
): AsyncGenerator<{ start: number; end: number; out: Record<string, OrtTensor> }> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${where}: batchSize must be a positive integer, received ${batchSize}`);
  const rows = data[0]!.rows;
  for (let start = 0; start < rows; start += batchSize) {
    const end = Math.min(rows, start + batchSize);
    const feeds: Record<string, OrtTensor> = {};
    data.forEach((x, i) => {
      const chunk = x.sliceRows(start, end);
      feeds[inputNames[i]!] = viewTensor(chunk.data, chunk.shape);
    });
    yield { start, end, out: await compiled.run(feeds) };
  }
}


function copyRows(dst: HostTensor, src: OrtTensor, startRow: number): void {
  if (!isHostData(src.data)) throw new Error(`predict: unsupported output type ${src.type}`);
  copyData(dst.data, src.data, startRow * dst.rowSize);
}
