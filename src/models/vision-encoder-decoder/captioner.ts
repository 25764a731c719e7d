/**
 * A loaded VisionEncoderDecoderModel ready to caption: the encoder-decoder
 * session, the checkpoint's generation_config.json and, when the directory
 * has preprocessor_config.json, its image processor. `generate` encodes a
 * pixel batch once and decodes from decoder_start_token_id with
 * text/generate.ts (greedy, sampling, beam search).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImageProcessor, PREPROCESSOR_CONFIG, type PixelValues, type ProcessorInput } from '../../image/processor.js';
import { loadHfCheckpoint, type LoadCheckpointOptions } from '../../io/hf-checkpoint.js';
import { generate, type GenerateOptions, type GenerateOutput } from '../../text/generate.js';
import { generationConfigFromJson, type GenerationConfig } from '../../text/generation-config.js';
import { EncoderDecoderSession, type EncoderInput } from '../encoder-decoder/session.js';
import { architectureOf, ConfigError } from '../transformer/config.js';
import { VISION_ENCODER_DECODER_ARCHITECTURE, VisionEncoderDecoder } from './model.js';

const DEFAULT_MAX_LENGTH = 20;

export class Captioner {
  private constructor(
    readonly model: VisionEncoderDecoder,
    readonly session: EncoderDecoderSession,
    /** generation_config.json (or what config.json implies): defaults under every call's options. */
    readonly generationConfig: GenerationConfig,
    /** Turns image files, bytes and decoded images into pixel_values; absent without preprocessor_config.json. */
    readonly processor: ImageProcessor | undefined,
    /** Where the checkpoint was read from. */
    readonly dir: string | undefined,
  ) {}

  /** Load a VisionEncoderDecoderModel checkpoint directory or hub id. */
  static async load(dirOrId: string, opts: LoadCheckpointOptions = {}): Promise<Captioner> {
    const ckpt = await loadHfCheckpoint(dirOrId, opts);
    const where = join(ckpt.dir, 'config.json');
    const architecture = architectureOf(ckpt.config, where);
    if (architecture !== VISION_ENCODER_DECODER_ARCHITECTURE) {
      throw new ConfigError(`${where}: architecture "${architecture}" is not an image-to-text model (supported: ${VISION_ENCODER_DECODER_ARCHITECTURE})`);
    }
    const model = VisionEncoderDecoder.fromCheckpoint(ckpt.config, ckpt.weights, where);
    const generationConfig = ckpt.generationConfig
      ? generationConfigFromJson(ckpt.generationConfig, join(ckpt.dir, 'generation_config.json'))
      : generationConfigFromJson(ckpt.config, where);
    const processor = existsSync(join(ckpt.dir, PREPROCESSOR_CONFIG)) ? await ImageProcessor.fromDir(ckpt.dir) : undefined;
    return Captioner.fromModel(model, { generationConfig, ...(processor && { processor }), dir: ckpt.dir });
  }

  static async fromModel(model: VisionEncoderDecoder, parts: { generationConfig?: GenerationConfig; processor?: ImageProcessor; dir?: string } = {}): Promise<Captioner> {
    const session = await EncoderDecoderSession.fromModel(model);
    return new Captioner(model, session, parts.generationConfig ?? {}, parts.processor, parts.dir);
  }

  /** pixel_values for images (paths, URLs, bytes, decoded images) through the checkpoint's image processor. */
  async preprocess(images: ProcessorInput | readonly ProcessorInput[]): Promise<PixelValues> {
    if (!this.processor) {
      throw new Error(`${this.model.architecture}: ${this.dir ?? 'the model'} has no ${PREPROCESSOR_CONFIG}, so images must be given as pixel_values ({ data, dims: [batch, ${this.model.encoderInput.dims.join(', ')}] })`);
    }
    return this.processor.preprocess(images);
  }

  /**
   * Captions for a pixel batch [batch, channels, H, W] (already normalised), one row per image,
   * each starting from decoder_start_token_id. `options.generation_config` replaces the checkpoint's.
   */
  async generate(pixels: EncoderInput, options: GenerateOptions = {}): Promise<GenerateOutput> {
    const encoded = await this.session.encode(pixels);
    const start = this.model.config.decoderStartTokenId;
    const prompts = Array.from({ length: encoded.batch }, () => [start]);
    const config = options.generation_config ?? this.generationConfig;
    const setsLength = [options.max_new_tokens, options.maxNewTokens, options.max_length, options.maxLength, config.max_new_tokens, config.max_length].some((v) => v !== undefined);
    // transformers' default max_length 20 counts the start token here, so it is 19 new tokens, not generate's 20.
    return generate(this.session.bind(encoded), prompts, { generation_config: config, ...(setsLength ? {} : { max_length: DEFAULT_MAX_LENGTH }), ...options });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
