/**
 * Whisper on the generic encoder-decoder runtime (models/encoder-decoder/session.ts): one encoder
 * run per batch of 30 s windows computes every decoder layer's cross-attention K/V; the bound
 * decoder is the LanguageModel text/generate.ts drives, its self-attention cache and the cross K/V
 * kept in ORT tensors.
 */
import { EncoderDecoderSession, type EncodedBatch } from '../encoder-decoder/session.js';
import type { LanguageModel } from '../../text/language-model.js';
import type { Whisper } from './model.js';

export class WhisperSession {
  private constructor(
    readonly model: Whisper,
    private readonly session: EncoderDecoderSession,
  ) {}

  static async compile(model: Whisper): Promise<WhisperSession> {
    return new WhisperSession(model, await EncoderDecoderSession.fromModel(model));
  }

  /** Encode `batch` windows of input_features ([batch, mels, 3000] row-major). */
  async encode(features: Float32Array, batch: number): Promise<EncodedBatch> {
    const [mels, frames] = this.model.encoderInput.dims;
    if (features.length !== batch * mels! * frames!) {
      throw new Error(`Whisper encoder: input_features must be [${batch}, ${mels}, ${frames}] (${batch * mels! * frames!} values), received ${features.length}`);
    }
    return this.session.encode({ data: features, dims: [batch, mels!, frames!] });
  }

  /** The decoder over encoded windows: prompt row r decodes window r. */
  decoderFor(encoded: EncodedBatch): LanguageModel {
    return this.session.bind(encoded);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
