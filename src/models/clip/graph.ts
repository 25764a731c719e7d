/**
 * CLIP inference graphs with weights as initializers and a symbolic batch: the text tower
 * (input_ids, attention_mask → text_embeds) and the vision tower (pixel_values → image_embeds),
 * named and laid out as transformers.js's CLIPTextModelWithProjection / CLIPVisionModelWithProjection
 * read them (onnx/text_model.onnx, onnx/vision_model.onnx). Embeddings leave the graph unnormalised,
 * as get_text_features / get_image_features return them.
 */
import type ort from 'onnxruntime-node';
import { trace } from '../../core/graph.js';
import type { EmitOptions } from '../../onnx/emit.js';
import { CompiledGraph, float32, int64, type SessionOptions } from '../../runtime/session.js';
import type { Clip } from './model.js';

export const TEXT_EMBEDS = 'text_embeds';
export const IMAGE_EMBEDS = 'image_embeds';

/** input_ids, attention_mask (batch_size, sequence_length) → text_embeds (batch_size, projection_dim). */
export function textGraph(model: Clip): EmitOptions {
  return trace((g) => {
    const inputIds = g.input('input_ids', ['batch_size', 'sequence_length'], 'int64');
    const attentionMask = g.input('attention_mask', ['batch_size', 'sequence_length'], 'int64');
    return { graph: g, inputs: [inputIds, attentionMask], outputs: { [TEXT_EMBEDS]: model.textEmbeds(inputIds, attentionMask) }, variables: 'initializers', name: 'CLIPTextModelWithProjection' };
  });
}

/** pixel_values (batch_size, 3, H, W) → image_embeds (batch_size, projection_dim). */
export function visionGraph(model: Clip): EmitOptions {
  const [c, h, w] = model.vision.pixelShape;
  return trace((g) => {
    const pixels = g.input('pixel_values', ['batch_size', c, h, w], 'float32');
    return { graph: g, inputs: [pixels], outputs: { [IMAGE_EMBEDS]: model.imageEmbeds(pixels) }, variables: 'initializers', name: 'CLIPVisionModelWithProjection' };
  });
}

/** One compiled tower; concurrent calls run one after another (CompiledGraph reuses its feeds). */
export class ClipSession {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly graph: CompiledGraph,
    private readonly output: string,
  ) {}

  static async compile(opts: EmitOptions, output: string, session: SessionOptions = {}): Promise<ClipSession> {
    return new ClipSession(await CompiledGraph.compile(opts, session), output);
  }

  /** Text rows padded to one length: ids and mask row-major (rows × length). */
  runText(inputIds: BigInt64Array, attentionMask: BigInt64Array, rows: number, length: number): Promise<Float32Array> {
    return this.run({ input_ids: int64(inputIds, [rows, length]), attention_mask: int64(attentionMask, [rows, length]) });
  }

  runVision(pixels: Float32Array, dims: readonly number[]): Promise<Float32Array> {
    return this.run({ pixel_values: float32(pixels, dims) });
  }

  private async run(feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
    const run = this.queue.then(() => this.graph.run(feeds, [this.output]));
    this.queue = run.catch(() => undefined);
    return (await run)[this.output]!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.graph.release();
  }
}
