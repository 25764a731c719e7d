/**
 * A loaded CLIP: its towers compiled on demand, its image processor and (when the directory has
 * one) its tokenizer. getTextEmbeddings and getImageEmbeddings return one vector per input in
 * order, L2-normalised by default (CLIPModel's text_embeds / image_embeds; pass normalize: false
 * for get_text_features / get_image_features). It serves retrieval as a TextEmbedder and an
 * ImageEmbedder over the same space.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageEmbedder } from '../../image/embedder.js';
import type { LoadImageOptions } from '../../image/decode.js';
import { ImageProcessor, PREPROCESSOR_CONFIG, type PixelValues, type ProcessorInput } from '../../image/processor.js';
import { loadHfCheckpoint, readJsonObject, type LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { resolveModelDir } from '../../io/hub.js';
import { CompileCache } from '../../runtime/session.js';
import type { EmbeddingRole, TextEmbedder } from '../../text/embedder.js';
import { Tokenizer } from '../../text/tokenizer.js';
import { padBatch, SpecialTokenTemplate } from '../bert/encoding.js';
import { ConfigError } from '../transformer/config.js';
import { CLIP_ARCHITECTURE, parseClipConfig } from './config.js';
import { ClipSession, IMAGE_EMBEDS, TEXT_EMBEDS, textGraph, visionGraph } from './graph.js';
import { Clip } from './model.js';

/** A text, or its token ids with the special tokens already in place (for checkpoints without a tokenizer). */
export type ClipTextInput = string | readonly number[];

export interface ClipLoadOptions extends LoadCheckpointOptions {
  /** Texts or images per run (default 16). */
  batchSize?: number;
}

export interface EmbeddingOptions {
  /** L2-normalise each vector (default true). */
  normalize?: boolean;
}

export interface ImageEmbeddingOptions extends EmbeddingOptions, Pick<LoadImageOptions, 'onConversion'> {}

export interface ClipScores {
  /** (images, texts): exp(logit_scale) · cosine similarity, CLIPModel's logits_per_image. */
  logitsPerImage: Float32Array[];
  textEmbeds: Float32Array[];
  imageEmbeds: Float32Array[];
}

/** The checkpoint has no tokenizer, so it reads token ids only. */
export class NoTokenizerError extends Error {
  override name = 'NoTokenizerError';
}

const DEFAULT_BATCH = 16;

/** v / ‖v‖ (v itself when it is zero). */
export function unitVector(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return n > 0 ? v.map((x) => x / n) : v;
}

export class ClipModel implements TextEmbedder, ImageEmbedder {
  readonly dimension: number;
  /** Longest text in tokens, special tokens included; longer texts are cut before their end-of-text token. */
  readonly maxTokens: number;
  private readonly sessions = new CompileCache<'text' | 'vision', ClipSession>();

  constructor(
    readonly modelId: string,
    readonly dir: string | undefined,
    readonly model: Clip,
    readonly processor: ImageProcessor,
    readonly tokenizer: Tokenizer | undefined,
    private readonly template: SpecialTokenTemplate,
    private readonly padId: number,
    readonly batchSize = DEFAULT_BATCH,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`${modelId}: batchSize must be a positive integer, received ${batchSize}`);
    this.dimension = model.config.projectionDim;
    const declared = tokenizer?.config.model_max_length;
    const positions = model.config.text.maxPositions;
    this.maxTokens = typeof declared === 'number' && Number.isInteger(declared) && declared > 0 && declared < positions ? declared : positions;
  }

  /** A CLIPModel from a directory or hub id: config.json, safetensors weights (F32, F16 or BF16), preprocessor_config.json, tokenizer.json if present. */
  static async load(dirOrId: string, opts: ClipLoadOptions = {}): Promise<ClipModel> {
    const { batchSize, ...load } = opts;
    const hubId = existsSync(dirOrId) ? undefined : dirOrId;
    const dir = await resolveModelDir(dirOrId, { ...load, weights: false, extraFiles: [...(load.extraFiles ?? []), PREPROCESSOR_CONFIG] });
    const configPath = join(dir, 'config.json');
    if (!existsSync(configPath)) throw new ConfigError(`${dir}: no config.json, so this is not a Hugging Face model directory`);
    parseClipConfig(await readJsonObject(configPath, true), configPath); // refuse non-CLIP configs before any download
    const processor = await ImageProcessor.fromDir(dir);
    if (hubId !== undefined) await resolveModelDir(hubId, { ...load, weights: true });
    const ckpt = await loadHfCheckpoint(dir, load);
    const model = Clip.fromCheckpoint(ckpt.config, ckpt.weights, configPath);
    const tokenizerPath = join(dir, 'tokenizer.json');
    const hasTokenizer = existsSync(tokenizerPath) || existsSync(join(dir, 'vocab.json'));
    const tokenizer = hasTokenizer ? await Tokenizer.fromDir(dir) : undefined;
    const tokenizerJson = existsSync(tokenizerPath) ? await readJsonObject(tokenizerPath) : undefined;
    const template = tokenizerJson ? SpecialTokenTemplate.fromTokenizerJson(tokenizerJson, tokenizerPath) : SpecialTokenTemplate.none();
    const padId = tokenizer?.padTokenId ?? model.config.text.padTokenId;
    return new ClipModel(dirOrId, dir, model, processor, tokenizer, template, padId, batchSize);
  }

  /** The ids a text is fed as: tokenized, cut to maxTokens, special tokens added. */
  tokenize(text: string): number[] {
    if (!this.tokenizer) throw new NoTokenizerError(`${this.modelId} has no tokenizer (tokenizer.json), so it embeds token ids, not text`);
    const ids = this.tokenizer.encode(text, { addSpecialTokens: false });
    const room = this.maxTokens - this.template.singleSpecials;
    return this.template.single(ids.length > room ? ids.slice(0, room) : ids).ids;
  }

  countTokens(text: string): number {
    if (!this.tokenizer) throw new NoTokenizerError(`${this.modelId} has no tokenizer (tokenizer.json), so it cannot count the tokens of a text`);
    return this.tokenizer.encode(text, { addSpecialTokens: false }).length;
  }

  /** One vector per text (or id list), in order. */
  async getTextEmbeddings(inputs: readonly ClipTextInput[], opts: EmbeddingOptions = {}): Promise<Float32Array[]> {
    const rows = inputs.map((input, i) => this.idsOf(input, i));
    const session = await this.session('text');
    const d = this.dimension;
    const out: Float32Array[] = [];
    for (let b = 0; b < rows.length; b += this.batchSize) {
      const slice = rows.slice(b, b + this.batchSize);
      const batch = padBatch(slice.map((ids) => ({ ids, typeIds: ids.map(() => 0) })), this.padId);
      const data = await session.runText(batch.inputIds, batch.attentionMask, batch.rows, batch.length);
      for (let r = 0; r < slice.length; r++) out.push(this.finish(data.slice(r * d, (r + 1) * d), opts));
    }
    return out;
  }

  /** One vector per image (path, URL, bytes or decoded image), in order; or for pixel_values already processed. */
  async getImageEmbeddings(images: readonly ProcessorInput[] | PixelValues, opts: ImageEmbeddingOptions = {}): Promise<Float32Array[]> {
    const session = await this.session('vision');
    const d = this.dimension;
    const out: Float32Array[] = [];
    if (!Array.isArray(images)) {
      const pv = images as PixelValues;
      this.model.vision.checkPixels(pv.dims, this.modelId);
      const size = pv.dims[1] * pv.dims[2] * pv.dims[3];
      for (let b = 0; b < pv.dims[0]; b += this.batchSize) {
        const rows = Math.min(this.batchSize, pv.dims[0] - b);
        const data = await session.runVision(pv.data.subarray(b * size, (b + rows) * size), [rows, ...pv.dims.slice(1)]);
        for (let r = 0; r < rows; r++) out.push(this.finish(data.slice(r * d, (r + 1) * d), opts));
      }
      return out;
    }
    // The next batch is decoded (sharp works on libuv's threads) while this one runs in onnxruntime.
    const load = opts.onConversion ? { onConversion: opts.onConversion } : {};
    const prepare = (b: number) => (b < images.length ? this.processor.preprocess(images.slice(b, b + this.batchSize), load) : undefined);
    let next = prepare(0);
    for (let b = 0; b < images.length; b += this.batchSize) {
      const pv = await next!;
      next = prepare(b + this.batchSize);
      next?.catch(() => undefined); // awaited on the next turn; a rejection now must not go unhandled
      this.model.vision.checkPixels(pv.dims, `${this.modelId} (${this.processor.where} makes images of ${pv.dims[2]}×${pv.dims[3]})`);
      const data = await session.runVision(pv.data, pv.dims);
      for (let r = 0; r < pv.dims[0]; r++) out.push(this.finish(data.slice(r * d, (r + 1) * d), opts));
    }
    return out;
  }

  /** CLIPModel's forward: normalised embeddings and logits_per_image (one row per image, one column per text). */
  async scores(images: readonly ProcessorInput[] | PixelValues, texts: readonly ClipTextInput[]): Promise<ClipScores> {
    const textEmbeds = await this.getTextEmbeddings(texts);
    const imageEmbeds = await this.getImageEmbeddings(images);
    const scale = this.model.logitScale;
    const logitsPerImage = imageEmbeds.map((im) => Float32Array.from(textEmbeds, (t) => scale * dot(im, t)));
    return { logitsPerImage, textEmbeds, imageEmbeds };
  }

  /** TextEmbedder: normalised text vectors (CLIP has no query or passage prompts). */
  embed(texts: readonly string[], _role?: EmbeddingRole): Promise<Float32Array[]> {
    return this.getTextEmbeddings(texts);
  }

  /** ImageEmbedder: normalised image vectors. */
  embedImages(images: readonly ProcessorInput[], options: Pick<LoadImageOptions, 'onConversion'> = {}): Promise<Float32Array[]> {
    return this.getImageEmbeddings(images, options);
  }

  /**
   * A query embedder that answers every query with this image's vector, so retrieve() searches a store
   * built with this model by image: retrieve(store, '', { mode: 'dense', embedder: await clip.imageQuery(path) }).
   */
  async imageQuery(image: ProcessorInput): Promise<TextEmbedder> {
    const [vector] = await this.getImageEmbeddings([image]);
    const { modelId, dimension, maxTokens } = this;
    return { modelId, dimension, maxTokens, countTokens: () => 0, embed: async (texts) => texts.map(() => vector!) };
  }

  async release(): Promise<void> {
    await this.sessions.clear();
  }

  private idsOf(input: ClipTextInput, i: number): number[] {
    if (typeof input === 'string') return this.tokenize(input);
    const { vocabSize } = this.model.config.text;
    if (!Array.isArray(input) || input.length === 0 || !input.every((id) => Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      throw new TypeError(`${this.modelId}: text ${i} must be a string or a non-empty list of token ids below the vocabulary size ${vocabSize}`);
    }
    if (input.length > this.model.config.text.maxPositions) {
      throw new RangeError(`${this.modelId}: text ${i} has ${input.length} token ids, more than the ${this.model.config.text.maxPositions} positions of the text tower`);
    }
    return [...input];
  }

  private finish(v: Float32Array, opts: EmbeddingOptions): Float32Array {
    return opts.normalize === false ? v : unitVector(v);
  }

  private session(tower: 'text' | 'vision'): Promise<ClipSession> {
    // Vision batches are long runs of large kernels: idle threads gain nothing by spinning, and on a
    // busy machine spinning takes CPU from the threads that work (bench:vision, 2 cores: 30% less CPU per image).
    return this.sessions.get(tower, () =>
      tower === 'text' ? ClipSession.compile(textGraph(this.model), TEXT_EMBEDS) : ClipSession.compile(visionGraph(this.model), IMAGE_EMBEDS, { spinning: false }),
    );
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Whether a directory or hub id holds a CLIPModel by its config.json (only config files are fetched). */
export async function isClipCheckpoint(dirOrId: string, opts: LoadCheckpointOptions = {}): Promise<boolean> {
  const dir = await resolveModelDir(dirOrId, { ...opts, weights: false });
  const config = await readJsonObject(join(dir, 'config.json'));
  const list = config?.architectures;
  return Array.isArray(list) && list[0] === CLIP_ARCHITECTURE;
}

/** Load a CLIPModel (see ClipModel.load). */
export const loadClipModel = (dirOrId: string, opts?: ClipLoadOptions): Promise<ClipModel> => ClipModel.load(dirOrId, opts);
