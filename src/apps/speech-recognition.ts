/**
 * `pipeline('automatic-speech-recognition', model)`: Whisper transcription returning transformers.js'
 * `{ text, chunks: [{ timestamp: [start, end], text }] }`. Input is an audio file path (WAV, or any
 * format ffmpeg reads), a Float32Array of 16 kHz mono samples, or `{ array | raw, sampling_rate }`
 * (resampled when the rate differs); a list of inputs gives a list of outputs. Long files are
 * streamed window by window. Unlike transformers.js, `chunks` is always there (one chunk per 30 s
 * window with `return_timestamps: false`).
 */
import { openAudio, type OpenAudioOptions } from '../audio/source.js';
import { resample } from '../audio/resample.js';
import { WhisperTranscriber, type LoadTranscriberOptions, type Transcript, type TranscribeOptions } from '../models/whisper/transcribe.js';
import { withLoadProgress, type LoadProgressOptions } from './load-progress.js';

export interface SpeechChunk {
  /** Seconds from the start of the audio. */
  timestamp: [number, number];
  text: string;
}

export interface SpeechRecognitionOutput {
  text: string;
  chunks: SpeechChunk[];
}

/** A file path, 16 kHz mono samples, or samples at their own rate. */
export type SpeechInput = string | Float32Array | { array?: Float32Array; raw?: Float32Array; sampling_rate: number };

export interface SpeechRecognitionCallOptions extends Omit<TranscribeOptions, 'onSegment'> {
  /** How files are decoded (resampling quality, ffmpeg path). */
  audio?: Omit<OpenAudioOptions, 'sampleRate' | 'signal'>;
}

export interface SpeechRecognitionPipeline {
  (input: SpeechInput, options?: SpeechRecognitionCallOptions): Promise<SpeechRecognitionOutput>;
  (inputs: SpeechInput[], options?: SpeechRecognitionCallOptions): Promise<SpeechRecognitionOutput[]>;
  readonly task: 'automatic-speech-recognition';
  readonly transcriber: WhisperTranscriber;
  /** The full result of one input: segments with tokens, the language, the duration. */
  transcribe(input: SpeechInput, options?: SpeechRecognitionCallOptions): Promise<Transcript>;
  dispose(): Promise<void>;
}

export interface SpeechRecognitionOptions extends LoadTranscriberOptions, LoadProgressOptions {}

export function toPipelineOutput(t: Transcript): SpeechRecognitionOutput {
  return { text: t.text, chunks: t.segments.map((s) => ({ timestamp: [s.start, s.end], text: s.text })) };
}

function isInput(x: unknown): x is SpeechInput {
  if (typeof x === 'string' || x instanceof Float32Array) return true;
  if (x === null || typeof x !== 'object') return false;
  const o = x as { array?: unknown; raw?: unknown; sampling_rate?: unknown };
  return (o.array instanceof Float32Array || o.raw instanceof Float32Array) && typeof o.sampling_rate === 'number';
}

async function transcribeOne(t: WhisperTranscriber, input: SpeechInput, options: SpeechRecognitionCallOptions): Promise<Transcript> {
  const { audio, ...rest } = options;
  if (typeof input === 'string') {
    if (/^https?:\/\//.test(input)) throw new Error(`automatic-speech-recognition pipeline: '${input}' is a URL; download it first and pass the file path`);
    return t.transcribe(await openAudio(input, { ...audio, sampleRate: t.sampleRate, ...(rest.signal ? { signal: rest.signal } : {}) }), rest);
  }
  if (input instanceof Float32Array) return t.transcribe(input, rest);
  const samples = input.array ?? input.raw!;
  return t.transcribe(input.sampling_rate === t.sampleRate ? samples : await resample(samples, input.sampling_rate, t.sampleRate, audio?.quality), rest);
}

export async function speechRecognitionPipeline(model: string | WhisperTranscriber, options: SpeechRecognitionOptions = {}): Promise<SpeechRecognitionPipeline> {
  let transcriber: WhisperTranscriber;
  if (typeof model === 'string') {
    const { progress_callback: _callback, onProgress: _onProgress, ...rest } = options;
    transcriber = await withLoadProgress(model, options, (onProgress) => WhisperTranscriber.load(model, { ...rest, onProgress }));
  } else transcriber = model;
  const transcribe = (input: SpeechInput, callOptions: SpeechRecognitionCallOptions = {}): Promise<Transcript> => {
    if (!isInput(input)) throw new TypeError('automatic-speech-recognition pipeline: input must be a file path, a Float32Array of 16 kHz samples, or { array, sampling_rate }');
    return transcribeOne(transcriber, input, callOptions);
  };
  const call = async (input: SpeechInput | SpeechInput[], callOptions: SpeechRecognitionCallOptions = {}) => {
    if (Array.isArray(input)) {
      const out: SpeechRecognitionOutput[] = [];
      for (const one of input) out.push(toPipelineOutput(await transcribe(one, callOptions)));
      return out;
    }
    return toPipelineOutput(await transcribe(input, callOptions));
  };
  return Object.assign(call as SpeechRecognitionPipeline, {
    task: 'automatic-speech-recognition' as const,
    transcriber,
    transcribe,
    dispose: () => transcriber.release(),
  });
}
