/**
 * `forja transcribe FILE... --model DIR|ID [--language es] [--task translate] [--format txt|json|srt|vtt]
 * [--out DIR] [--num-beams N] [--threads N] [--json]`: speech to text with Whisper. Each file is streamed
 * (any length, bounded memory); txt/srt/vtt cues are printed as their window is decoded. With --out, each
 * transcript goes to DIR/<file name>.<format> instead of stdout. --json makes the last stdout line one
 * object with every file's segments and the real-time factor.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { AudioFormatError, EmptyAudioError, FfmpegError, FfmpegMissingError } from '../../../audio/errors.js';
import { openAudio } from '../../../audio/source.js';
import { formatSubtitles, srtCue, SUBTITLE_FORMATS, VTT_HEADER, vttCue, type SubtitleFormat } from '../../../audio/subtitles.js';
import { UnknownLanguageError, WHISPER_LANGUAGES, type WhisperTask } from '../../../models/whisper/tokens.js';
import { WhisperTranscriber, type Segment, type Transcript } from '../../../models/whisper/transcribe.js';
import { setThreads } from '../../../runtime/session.js';
import { downloadBars } from '../download-progress.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { interruptible } from '../interrupt.js';
import { positiveInt, threadCount } from '../options.js';
import { checkWritableDir } from '../output.js';

interface TranscribeFlags {
  model: string;
  language?: string;
  task: WhisperTask;
  format: SubtitleFormat;
  out?: string;
  numBeams?: number;
  threads?: number;
  json?: boolean;
}

function language(value: string): string {
  const wanted = value.trim().toLowerCase();
  if (WHISPER_LANGUAGES.some(([code, name]) => code === wanted || name === wanted)) return value;
  throw new InvalidArgumentError(`--language '${value}' is not a language Whisper knows; use a code such as en, es, fr, de, zh, ja (all: ${WHISPER_LANGUAGES.map(([c]) => c).join(', ')})`);
}

function oneOf<T extends string>(flag: string, values: readonly T[]) {
  return (value: string): T => {
    if ((values as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`${flag} must be one of ${values.join(', ')}, got '${value}'`);
  };
}

async function checkFiles(files: string[]): Promise<void> {
  if (files.length === 0) throw new CliError('transcribe: give one or more audio files');
  for (const file of files) {
    const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(err.code === 'ENOENT' ? `transcribe: FILE '${file}' does not exist` : `transcribe: FILE '${file}' cannot be read (${err.code ?? err.message})`);
    });
    if (!st.isFile()) throw new CliError(`transcribe: FILE '${file}' is not a file`);
  }
}

/** Prints cues as segments arrive (txt/srt/vtt) or the whole document at the end (json). */
class Writer {
  private parts: string[] = [];
  private cues = 0;

  constructor(
    private readonly format: SubtitleFormat,
    private readonly toStdout: boolean,
  ) {
    if (format === 'vtt') this.emit(VTT_HEADER);
  }

  segment(s: Segment): void {
    if (this.format === 'json' || s.text.trim().length === 0) return;
    if (this.format === 'txt') this.emit(`${s.text.trim()}\n`);
    else this.emit(this.format === 'srt' ? srtCue(s, ++this.cues) : vttCue(s));
  }

  finish(t: Transcript): string {
    if (this.format === 'json') this.emit(formatSubtitles(t.segments, 'json'));
    return this.parts.join('');
  }

  private emit(text: string): void {
    if (this.toStdout) process.stdout.write(text);
    else this.parts.push(text);
  }
}

function audioError(file: string, err: unknown): CliError {
  if (err instanceof UnknownLanguageError) return new CliError(`transcribe: --language '${err.language}' is not one of this model's languages (${err.known.join(', ')})`);
  if (err instanceof FfmpegMissingError || err instanceof FfmpegError || err instanceof AudioFormatError || err instanceof EmptyAudioError) return new CliError(`transcribe: ${err.message}`, EXIT.failure);
  return cliErrorFrom(`transcribe ${file}`, err);
}

export async function run(files: string[], flags: TranscribeFlags): Promise<void> {
  await checkFiles(files);
  if (flags.out !== undefined) {
    await checkWritableDir(flags.out, '--out');
    await mkdir(flags.out, { recursive: true });
  }
  if (flags.threads !== undefined) setThreads(flags.threads);
  const bars = downloadBars();
  let transcriber: WhisperTranscriber;
  try {
    transcriber = await WhisperTranscriber.load(flags.model, { onProgress: bars.onProgress });
  } catch (err) {
    throw cliErrorFrom(`transcribe --model ${flags.model}`, err);
  } finally {
    bars.stop();
  }
  const started = performance.now();
  const results: (Transcript & { file: string; output?: string })[] = [];
  try {
    await interruptible(async (signal) => {
      for (const file of files) {
        const writer = new Writer(flags.format, flags.out === undefined);
        let transcript: Transcript;
        try {
          const audio = await openAudio(file, { sampleRate: transcriber.sampleRate, signal });
          for (const warning of audio.info.warnings) process.stderr.write(`forja: warning: ${file}: ${warning}\n`);
          transcript = await transcriber.transcribe(audio, {
            task: flags.task,
            signal,
            onSegment: (s) => writer.segment(s),
            ...(flags.language !== undefined && { language: flags.language }),
            ...(flags.numBeams !== undefined && { num_beams: flags.numBeams }),
          });
        } catch (err) {
          if (signal.aborted) throw new CliError(`transcribe: interrupted while transcribing ${file}`, EXIT.interrupted);
          throw audioError(file, err);
        }
        const text = writer.finish(transcript);
        let output: string | undefined;
        if (flags.out !== undefined) {
          output = join(flags.out, `${basename(file, extname(file))}.${flags.format}`);
          await writeFile(output, text).catch((err: NodeJS.ErrnoException) => {
            throw new CliError(`transcribe: cannot write ${output} (${err.code ?? err.message})`, EXIT.failure);
          });
        } else if (files.length > 1 && flags.format !== 'json') process.stdout.write('\n');
        results.push({ ...transcript, file, ...(output !== undefined && { output }) });
      }
    }, 'stopping after this window (Ctrl-C again to quit now)');
  } finally {
    await transcriber.release();
  }
  if (flags.json) {
    const seconds = (performance.now() - started) / 1000;
    const audio = results.reduce((n, r) => n + r.duration, 0);
    const files = results.map(({ file, output, language, duration, text, segments }) => ({ file, ...(output && { output }), language, duration, text, segments: segments.map(({ start, end, text: t, tokens }) => ({ start, end, text: t, tokens })) }));
    process.stdout.write(`${JSON.stringify({ model: flags.model, files, seconds, realTimeFactor: audio > 0 ? seconds / audio : null })}\n`);
  }
}

export function register(program: Command): void {
  program
    .command('transcribe')
    .description('Transcribe (or translate to English) audio files with a Whisper model: text, JSON segments, SRT or VTT')
    .argument('<files...>', 'audio files: WAV (PCM or float), or any format ffmpeg reads when it is on the PATH')
    .requiredOption('--model <dir|id>', 'Whisper checkpoint directory or hub id (e.g. openai/whisper-tiny)')
    .option('--language <code>', 'spoken language, a code (es) or name (spanish); default: detected', language)
    .option('--task <task>', 'transcribe, or translate into English', oneOf('--task', ['transcribe', 'translate'] as const), 'transcribe')
    .option('--format <format>', `output format: ${SUBTITLE_FORMATS.join(', ')}`, oneOf('--format', SUBTITLE_FORMATS), 'txt')
    .option('--out <dir>', 'write <file name>.<format> files into DIR instead of printing')
    .option('--num-beams <n>', 'beam search with N beams (default: generation_config.json, usually greedy)', positiveInt('--num-beams', 16))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (at most the cores)', threadCount('--threads'))
    .option('--json', 'end stdout with one JSON object: every file\'s language, duration, segments, and the real-time factor')
    .action(run);
}
