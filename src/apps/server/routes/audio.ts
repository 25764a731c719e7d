/**
 * POST /v1/audio/transcriptions in OpenAI's format: a multipart/form-data upload (`file`, `model`, `language`,
 * `prompt`, `response_format` json | text | srt | vtt | verbose_json, `temperature`) transcribed by Whisper.
 * The upload is streamed to a file in a fresh temp directory, which is deleted however the request ends, and
 * read by the same decoder as `forja transcribe` (WAV natively, other formats through ffmpeg). Audio that
 * cannot be read (truncated WAV, 0 bytes, an unknown format) is a 400 naming the upload and the problem.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AudioFormatError, EmptyAudioError, FfmpegError, FfmpegMissingError } from '../../../audio/errors.js';
import { openAudio } from '../../../audio/source.js';
import { formatSubtitles } from '../../../audio/subtitles.js';
import { languageToken, UnknownLanguageError, WHISPER_LANGUAGES } from '../../../models/whisper/tokens.js';
import type { Transcript, TranscribeOptions } from '../../../models/whisper/transcribe.js';
import type { ServerContext } from '../app.js';
import { ApiError, badRequest } from '../errors.js';
import { Serial, type MediaModels, type ServedTranscriber } from '../media-models.js';

/** OpenAI's upload limit. */
export const DEFAULT_AUDIO_LIMIT = 25 * 2 ** 20;
export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
export type TranscriptionFormat = (typeof RESPONSE_FORMATS)[number];
const FIELDS = new Set(['model', 'language', 'prompt', 'response_format', 'temperature', 'timestamp_granularities[]', 'timestamp_granularities', 'stream']);

export interface TranscriptionFields {
  model: string;
  language?: string;
  responseFormat: TranscriptionFormat;
  temperature: number;
}

/** The form's text fields, checked as OpenAI checks them. */
export function transcriptionFields(fields: Readonly<Record<string, string>>): TranscriptionFields {
  for (const key of Object.keys(fields)) if (!FIELDS.has(key)) throw badRequest(`Unrecognized request argument supplied: ${key}`, key);
  const model = fields.model;
  if (model === undefined || model === '') throw badRequest("Missing required parameter: 'model'", 'model');
  const format = fields.response_format ?? 'json';
  if (!(RESPONSE_FORMATS as readonly string[]).includes(format)) throw badRequest(`Invalid value for 'response_format': must be one of ${RESPONSE_FORMATS.join(', ')}, got '${format}'`, 'response_format');
  const temperature = fields.temperature === undefined ? 0 : Number(fields.temperature);
  if (fields.temperature?.trim() === '' || !(temperature >= 0 && temperature <= 1)) throw badRequest(`Invalid value for 'temperature': must be a number from 0 to 1, got '${fields.temperature}'`, 'temperature');
  if (fields.prompt !== undefined && fields.prompt.trim() !== '') throw badRequest("'prompt' (text to condition on) is not supported by this server's Whisper; leave it out", 'prompt');
  const granularity = fields['timestamp_granularities[]'] ?? fields.timestamp_granularities;
  if (granularity !== undefined && granularity !== 'segment') throw badRequest(`'timestamp_granularities' ${granularity} is not supported; Whisper here gives segment timestamps`, 'timestamp_granularities');
  if (fields.stream === 'true') throw badRequest("'stream' is not supported for transcriptions; the whole transcript is returned", 'stream');
  const language = fields.language === undefined || fields.language === '' ? undefined : fields.language;
  return { model, ...(language !== undefined && { language }), responseFormat: format as TranscriptionFormat, temperature };
}

const languageName = (code: string | undefined): string | undefined => WHISPER_LANGUAGES.find(([c]) => c === code)?.[1] ?? code;

/** The transcript in the format asked for: an object for the JSON formats, text otherwise. */
export function transcriptionBody(t: Transcript, format: TranscriptionFormat, temperature: number, warnings: readonly string[] = []): { type: string; body: string | object } {
  switch (format) {
    case 'json':
      return { type: 'application/json', body: { text: t.text } };
    case 'text':
      return { type: 'text/plain; charset=utf-8', body: `${t.text}\n` };
    case 'srt':
    case 'vtt':
      return { type: 'text/plain; charset=utf-8', body: formatSubtitles(t.segments, format) };
    case 'verbose_json':
      // avg_logprob, compression_ratio and no_speech_prob are not computed here, so they are left out.
      return {
        type: 'application/json',
        body: {
          task: 'transcribe',
          language: languageName(t.language) ?? 'english',
          duration: t.duration,
          text: t.text,
          segments: t.segments.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text, tokens: s.tokens, temperature })),
          // Forja: what the decoder noticed and read past (a WAV shorter than its header says).
          ...(warnings.length > 0 && { warnings }),
        },
      };
  }
}

/** An audio decoding failure as a 400 naming the upload instead of the temp file. */
export function audioError(err: unknown, tempPath: string, filename: string): unknown {
  if (!(err instanceof AudioFormatError || err instanceof EmptyAudioError || err instanceof FfmpegError || err instanceof FfmpegMissingError)) return err;
  const message = err.message.split(tempPath).join(filename);
  return new ApiError(400, message, { param: 'file', code: err instanceof EmptyAudioError ? 'empty_audio' : 'invalid_audio' });
}

export interface AudioRouteOptions {
  /** Largest upload in bytes (default 25 MiB, as OpenAI); a larger one gets 413. */
  fileSizeLimit?: number;
}

interface Upload {
  fields: Record<string, string>;
  path?: string;
  filename?: string;
}

/** Reads the form: the file into `dir`, the other parts as fields. */
async function readForm(request: FastifyRequest, dir: string): Promise<Upload> {
  const upload: Upload = { fields: {} };
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') throw badRequest(`Unrecognized file field '${part.fieldname}'; send the audio as 'file'`, part.fieldname);
      if (upload.path !== undefined) throw badRequest("Only one 'file' may be uploaded", 'file');
      upload.filename = part.filename || 'file';
      // The extension (only a plain one) tells the decoder what to expect; the name is never used as a path.
      upload.path = join(dir, `upload${/\.[a-z0-9]{1,5}$/i.exec(upload.filename)?.[0] ?? ''}`);
      await pipeline(part.file, createWriteStream(upload.path));
    } else {
      upload.fields[part.fieldname] = String(part.value);
    }
  }
  return upload;
}

export async function transcribeUpload(served: ServedTranscriber, path: string, filename: string, fields: TranscriptionFields, signal: AbortSignal): Promise<{ transcript: Transcript; warnings: string[] }> {
  const t = served.transcriber;
  if (fields.language !== undefined) {
    if (!t.tokens.multilingual) {
      if (!['en', 'english'].includes(fields.language.toLowerCase())) throw badRequest(`model \`${served.id}\` is English-only; it cannot transcribe '${fields.language}'`, 'language');
    } else {
      try {
        languageToken(t.tokens, fields.language);
      } catch (err) {
        if (err instanceof UnknownLanguageError) throw badRequest(`'language' ${JSON.stringify(fields.language)} is not one Whisper knows; give an ISO-639-1 code such as en, es, fr`, 'language');
        throw err;
      }
    }
  }
  const options: TranscribeOptions = {
    ...(t.tokens.multilingual && fields.language !== undefined && { language: fields.language }),
    ...(fields.temperature > 0 ? { do_sample: true, temperature: fields.temperature } : {}),
    signal,
  };
  try {
    const audio = await openAudio(path, { sampleRate: t.sampleRate, signal });
    return { transcript: await t.transcribe(audio, options), warnings: audio.info.warnings.map((w) => w.split(path).join(filename)) };
  } catch (err) {
    throw audioError(err, path, filename);
  }
}

export async function registerAudioRoute(app: FastifyInstance, ctx: ServerContext, media: MediaModels, options: AudioRouteOptions = {}): Promise<void> {
  const queues = new Map(media.transcribers.map((m) => [m.id, new Serial()]));
  const fileSize = options.fileSizeLimit ?? DEFAULT_AUDIO_LIMIT;
  // Its own scope, so only this route parses multipart bodies.
  await app.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize, files: 1, fields: 16, fieldSize: 64 * 1024 } });
    scope.post('/v1/audio/transcriptions', { bodyLimit: fileSize + 1024 * 1024 }, async (request, reply) => {
      if (!request.isMultipart()) throw new ApiError(415, 'send multipart/form-data with the audio as `file`', { code: 'unsupported_media_type' });
      const dir = await mkdtemp(join(tmpdir(), 'forja-upload-'));
      const stop = new AbortController();
      const onClose = (): void => void (reply.raw.writableEnded || stop.abort(new Error('the client went away')));
      reply.raw.on('close', onClose);
      let response: ReturnType<typeof transcriptionBody>;
      try {
        const upload = await readForm(request, dir);
        const fields = transcriptionFields(upload.fields);
        const served = media.pick(media.transcribers, fields.model, 'transcribe audio', ctx.models().map((m) => m.id));
        if (upload.path === undefined) throw badRequest("Missing required parameter: 'file'", 'file');
        const signal = AbortSignal.any([stop.signal, ctx.closing]);
        const { transcript, warnings } = await queues.get(served.id)!.run(() => transcribeUpload(served, upload.path!, upload.filename!, fields, signal));
        response = transcriptionBody(transcript, fields.responseFormat, fields.temperature, warnings);
      } finally {
        reply.raw.off('close', onClose);
        await rm(dir, { recursive: true, force: true });
      }
      // Sent only once the upload is deleted.
      return reply.type(response.type).send(response.body);
    });
  });
}
