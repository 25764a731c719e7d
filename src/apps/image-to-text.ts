/**
 * `pipeline('image-to-text', model)`: captions from a VisionEncoderDecoderModel, as transformers'
 * ImageToTextPipeline. A call takes one image (a path, URL, Buffer/bytes, a decoded image) and
 * returns `[{ generated_text }]`, or a list of images or a pixel_values batch
 * (`{ data, dims: [batch, 3, H, W] }`, already normalised) and returns one such list per image.
 * Generation options are text/generate's (max_new_tokens, do_sample + seed, num_beams, ...).
 */
import type { ProcessorInput } from '../image/processor.js';
import type { LoadCheckpointOptions } from '../io/hf-checkpoint.js';
import type { EncoderInput } from '../models/encoder-decoder/session.js';
import { Captioner } from '../models/vision-encoder-decoder/captioner.js';
import type { GenerateOptions } from '../text/generate.js';
import { Tokenizer, type TextTokenizer } from '../text/tokenizer.js';
import { withLoadProgress, type LoadProgressOptions } from './load-progress.js';

export type ImageToTextInput = ProcessorInput | EncoderInput;

export type ImageToTextCallOptions = Omit<GenerateOptions, 'tokenizer' | 'attention_mask' | 'onText'>;

export interface ImageToTextOptions extends LoadCheckpointOptions, LoadProgressOptions {}

/** Already loaded parts, instead of a model id or directory. */
export interface ImageToTextParts {
  captioner: Captioner;
  tokenizer: Pick<TextTokenizer, 'decode'>;
}

export interface Caption {
  generated_text: string;
}

export interface ImageToTextPipeline {
  (image: ProcessorInput, options?: ImageToTextCallOptions): Promise<Caption[]>;
  (images: readonly ProcessorInput[] | EncoderInput, options?: ImageToTextCallOptions): Promise<Caption[][]>;
  readonly task: 'image-to-text';
  readonly captioner: Captioner;
  readonly tokenizer: Pick<TextTokenizer, 'decode'>;
  dispose(): Promise<void>;
}

/** A pixel batch rather than an image: float data with dims (a decoded image has width/height and bytes). */
export function isPixelBatch(x: unknown): x is EncoderInput {
  return x !== null && typeof x === 'object' && (x as EncoderInput).data instanceof Float32Array && Array.isArray((x as EncoderInput).dims);
}

async function load(model: string, options: ImageToTextOptions): Promise<ImageToTextParts> {
  const { progress_callback: _callback, onProgress: _onProgress, ...rest } = options;
  const captioner = await withLoadProgress(model, options, (onProgress) => Captioner.load(model, { ...rest, onProgress }));
  try {
    return { captioner, tokenizer: await Tokenizer.fromDir(captioner.dir!) };
  } catch (err) {
    await captioner.release();
    throw err;
  }
}

/** An image-to-text pipeline over a hub id, a checkpoint directory, or loaded parts. */
export async function imageToTextPipeline(model: string | ImageToTextParts, options: ImageToTextOptions = {}): Promise<ImageToTextPipeline> {
  const { captioner, tokenizer } = typeof model === 'string' ? await load(model, options) : model;
  const call = async (input: unknown, callOptions: ImageToTextCallOptions = {}): Promise<Caption[] | Caption[][]> => {
    const single = !Array.isArray(input) && !isPixelBatch(input);
    const pixels = isPixelBatch(input) ? input : await captioner.preprocess(input as ProcessorInput | ProcessorInput[]);
    const out = await captioner.generate(pixels, { ...callOptions, tokenizer });
    const captions = out.sequences.map((ids) => [{ generated_text: tokenizer.decode(ids, { skipSpecialTokens: true }) }]);
    return single ? captions[0]! : captions;
  };
  return Object.assign(call as ImageToTextPipeline, {
    task: 'image-to-text' as const,
    captioner,
    tokenizer,
    dispose: () => captioner.release(),
  });
}
