import type { Tensor } from '../../core/graph.js';
import { cast, gather } from '../../core/ops/index.js';
import type { Shape } from '../../core/shape.js';
import type { Variable } from '../../core/variable.js';
import { getInitializer, serializeInitializer, type Initializer, type InitializerConfig, type InitializerSpec } from '../initializers.js';
import { Layer, read, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import { checkPositiveInt } from './checks.js';

export interface EmbeddingArgs extends LayerArgs {
  /** Vocabulary size: indices are in [0, inputDim). */
  inputDim: number;
  outputDim: number;
  /** Default randomUniform(-0.05, 0.05), Keras' 'uniform'. */
  embeddingsInitializer?: InitializerSpec | InitializerConfig;
}

/** Maps integer indices [batch, ...] to vectors [batch, ..., outputDim]. */
export class Embedding extends Layer {
  readonly className = 'Embedding';
  readonly inputDim: number;
  readonly outputDim: number;
  private readonly embeddingsInitializer: Initializer;
  embeddings?: Variable;

  constructor(args: EmbeddingArgs) {
    super({ inputDtype: 'int64', ...args }, 'embedding');
    this.inputDim = checkPositiveInt(args.inputDim, 'inputDim', this.where);
    this.outputDim = checkPositiveInt(args.outputDim, 'outputDim', this.where);
    this.embeddingsInitializer = getInitializer(args.embeddingsInitializer ?? 'randomUniform');
  }

  override build(_inputShape: Shape): void {
    this.embeddings = this.addWeight('embeddings', [this.inputDim, this.outputDim], this.embeddingsInitializer);
    this.built = true;
  }

  call(indices: Tensor): Tensor {
    // Float indices (data fed as float32) are truncated, as Keras casts them.
    return gather(read(this.embeddings!), cast(indices, 'int64'), 0);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      embeddingsInitializer: serializeInitializer(this.embeddingsInitializer),
    };
  }
}
registerLayer('Embedding', (args: EmbeddingArgs) => new Embedding(args));

export const embedding = (args: EmbeddingArgs): Embedding => new Embedding(args);
