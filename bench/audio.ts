/**
 * npm run bench:audio -- [--threads N] [--reps N] [--tokens N]
 *
 * Real-time factor (seconds of compute per second of audio; lower is faster) of Whisper's two
 * stages on 30 s of 16 kHz audio, Forja against transformers.js 4 in the same process:
 *   features: WhisperFeatureExtractor (Forja's ONNX graph vs transformers.js' JS spectrogram);
 *   decode:   encoder + greedy decoding of N new tokens (default 64) on a whisper-tiny-shaped model
 *             with seeded random weights, written by this script as safetensors and exported to
 *             transformers.js' ONNX layout (exportWhisper), so both run the same weights.
 * Both runtimes get the same intra-op threads; min_new_tokens = max_new_tokens makes both decode
 * exactly N tokens, and the script checks they decode the same ids. Median of --reps runs after
 * one warm-up, the two runtimes alternating.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { WhisperFeatureExtractor } from '../src/audio/features.js';
import { Rng } from '../src/core/rng.js';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { writeSafetensorsCheckpoint } from '../src/io/safetensors.js';
import { parseWhisperConfig, whisperInitialWeights, WHISPER_ARCHITECTURE } from '../src/models/whisper/config.js';
import { exportWhisper } from '../src/models/whisper/export.js';
import { Whisper } from '../src/models/whisper/model.js';
import { WhisperSession } from '../src/models/whisper/session.js';
import { setThreads } from '../src/runtime/session.js';
import { generate } from '../src/text/generate.js';

const SECONDS = 30;
const RATE = 16000;
const PROMPT = [50258, 50259, 50359, 50363]; // <|startoftranscript|><|en|><|transcribe|><|notimestamps|>

/** whisper-tiny's shape (openai/whisper-tiny config.json). */
const CONFIG = {
  architectures: [WHISPER_ARCHITECTURE], model_type: 'whisper', vocab_size: 51865, num_mel_bins: 80, d_model: 384,
  encoder_layers: 4, encoder_attention_heads: 6, encoder_ffn_dim: 1536, decoder_layers: 4, decoder_attention_heads: 6, decoder_ffn_dim: 1536,
  max_source_positions: 1500, max_target_positions: 448, activation_function: 'gelu', scale_embedding: false, tie_word_embeddings: true,
  decoder_start_token_id: 50258, eos_token_id: 50257, pad_token_id: 50257, bos_token_id: 50257, init_std: 0.02, is_encoder_decoder: true,
};

function options(): { threads: number; reps: number; tokens: number } {
  const opts = { threads: Math.min(2, availableParallelism()), reps: 5, tokens: 64 };
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 2) {
    const key = ({ '--threads': 'threads', '--reps': 'reps', '--tokens': 'tokens' } as const)[args[i] as '--threads'];
    const value = Number(args[i + 1]);
    if (!key || !Number.isInteger(value) || value < 1) throw new Error(`bench:audio: unknown or bad flag ${args[i]} ${args[i + 1] ?? ''} (flags: --threads N, --reps N, --tokens N)`);
    opts[key] = value;
  }
  return opts;
}

/** 30 s of speech-like sound: a wandering voiced tone with harmonics, syllable-rate bursts, some noise. */
function syntheticSpeech(rng: Rng): Float32Array {
  const out = new Float32Array(SECONDS * RATE);
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    const pitch = 120 + 40 * Math.sin(2 * Math.PI * 0.3 * t);
    phase += (2 * Math.PI * pitch) / RATE;
    const envelope = Math.max(0, Math.sin(2 * Math.PI * 4 * t));
    out[i] = envelope * (0.3 * Math.sin(phase) + 0.15 * Math.sin(2 * phase) + 0.08 * Math.sin(3 * phase)) + 0.01 * rng.normal();
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Median times of `a` and `b`, run in turn after one warm-up each, with a pause so the previous runtime's spinning threads go idle. */
async function alternate(reps: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  await a();
  await b();
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < reps; r++) {
    for (const [i, fn] of [a, b].entries()) {
      await pause(200);
      const start = performance.now();
      await fn();
      times[i]!.push(performance.now() - start);
    }
  }
  return [median(times[0]), median(times[1])];
}

async function main(): Promise<void> {
  const opts = options();
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-audio-'));
  const load = loadavg()[0]!;
  try {
    const config = parseWhisperConfig(CONFIG);
    const weights = whisperInitialWeights(config, new Rng(1234));
    await writeSafetensorsCheckpoint(dir, weights);
    await writeJsonAtomic(join(dir, 'config.json'), CONFIG);
    await writeJsonAtomic(join(dir, 'generation_config.json'), { decoder_start_token_id: 50258, eos_token_id: 50257, pad_token_id: 50257, bos_token_id: 50257 });
    await writeJsonAtomic(join(dir, 'preprocessor_config.json'), { feature_extractor_type: 'WhisperFeatureExtractor', feature_size: 80, sampling_rate: RATE, hop_length: 160, n_fft: 400, chunk_length: 30, n_samples: 480000, nb_max_frames: 3000, padding_value: 0.0, return_attention_mask: false });
    await exportWhisper(dir, dir);
    const audio = syntheticSpeech(new Rng(7));
    setThreads(opts.threads);

    // Forja
    const extractor = await WhisperFeatureExtractor.create(JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>);
    const session = await WhisperSession.compile(Whisper.fromCheckpoint(CONFIG, weights));
    const features = (await extractor.extract([audio])).data;
    const forjaDecode = async (tokens = opts.tokens): Promise<number[]> => {
      const encoded = await session.encode(features, 1);
      const out = await generate(session.decoderFor(encoded), [PROMPT], { max_new_tokens: tokens, min_new_tokens: tokens });
      return out.newTokens[0]!;
    };

    // transformers.js on the same export
    const { AutoFeatureExtractor, WhisperForConditionalGeneration, Tensor, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    const processor = await AutoFeatureExtractor.from_pretrained(dir, { local_files_only: true });
    const model = await WhisperForConditionalGeneration.from_pretrained(dir, { dtype: 'fp32', local_files_only: true, session_options: { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } });
    const inputs = new Tensor('float32', features, [1, 80, 3000]);
    const tjsDecode = async (tokens = opts.tokens): Promise<number[]> => {
      const ids = (await model.generate({ inputs, decoder_input_ids: new Tensor('int64', BigInt64Array.from(PROMPT, BigInt), [1, PROMPT.length]), max_new_tokens: tokens, min_new_tokens: tokens, do_sample: false } as never)) as unknown as { data: BigInt64Array };
      return Array.from(ids.data, Number).slice(PROMPT.length);
    };

    // Alternate the runtimes rep by rep, so load from other jobs falls on both alike.
    const forjaIds = await forjaDecode();
    const tjsIds = await tjsDecode();
    const [forjaFeaturesMs, tjsFeaturesMs] = await alternate(opts.reps, () => extractor.extract([audio]), () => processor(audio));
    const [forjaDecodeMs, tjsDecodeMs] = await alternate(opts.reps, () => forjaDecode(), () => tjsDecode());
    const [forjaFirstMs, tjsFirstMs] = await alternate(opts.reps, () => forjaDecode(1), () => tjsDecode(1));
    await session.release();
    await extractor.release();
    await model.dispose();

    const same = forjaIds.length === tjsIds.length && forjaIds.every((id, i) => id === tjsIds[i]);
    const rtf = (ms: number): string => (ms / 1000 / SECONDS).toFixed(4);
    const row = (name: string, forja: number, tjs: number): string => `| ${name} | ${forja.toFixed(0)} ms (RTF ${rtf(forja)}) | ${tjs.toFixed(0)} ms (RTF ${rtf(tjs)}) | ${(tjs / forja).toFixed(2)}× |`;
    console.log(`whisper-tiny shape (random weights), 30 s of 16 kHz audio, ${opts.tokens} greedy tokens, ${opts.threads} intra-op threads each, median of ${opts.reps}; load average before: ${load.toFixed(2)} on ${availableParallelism()} CPUs`);
    console.log('| stage | Forja | transformers.js 4 | speed-up |');
    console.log('|---|---|---|---|');
    console.log(row('log-mel features', forjaFeaturesMs, tjsFeaturesMs));
    console.log(row('encode + first token', forjaFirstMs, tjsFirstMs));
    const perToken = (total: number, first: number): number => (total - first) / (opts.tokens - 1);
    const [forjaStep, tjsStep] = [perToken(forjaDecodeMs, forjaFirstMs), perToken(tjsDecodeMs, tjsFirstMs)];
    console.log(`| each further token | ${forjaStep.toFixed(1)} ms | ${tjsStep.toFixed(1)} ms | ${(tjsStep / forjaStep).toFixed(2)}× |`);
    console.log(row(`encode + decode ${opts.tokens} tokens`, forjaDecodeMs, tjsDecodeMs));
    console.log(row('both', forjaFeaturesMs + forjaDecodeMs, tjsFeaturesMs + tjsDecodeMs));
    console.log(`same ${opts.tokens} token ids from both: ${same ? 'yes' : `NO (first difference at ${forjaIds.findIndex((id, i) => id !== tjsIds[i])})`}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
