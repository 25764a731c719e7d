/**
 * `forja serve --model DIR|ID[:ADAPTER_DIR] …`: the OpenAI-compatible server (src/apps/server/) on the
 * continuous-batching engine, and Forja Studio at `/`. Binds 127.0.0.1 unless --host; prints its URL once listening. The first
 * Ctrl-C (or SIGTERM) stops taking requests and lets the streams in flight finish; a second Ctrl-C (or 30 s
 * after SIGTERM) cancels them.
 */
import { statSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { buildServer, DEFAULT_BODY_LIMIT, type RouteModule } from '../../server/app.js';
import { MediaModels, mediaRoutes } from '../../server/media-models.js';
import { engineModels, loadTextModels, parseModelSpec, releaseTextModels, type ServedTextModel, type TextModelSpec } from '../../server/models.js';
import { runsRoutes } from '../../server/runs.js';
import { studioRoutes } from '../../server/studio.js';
import { setSpinning } from '../../../runtime/session.js';
import { createBatchEngine } from '../../../text/batching/index.js';
import type { BatchEngine } from '../../../text/batching/types.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { nonNegativeInt, numberInRange, positiveInt } from '../options.js';
import { loadInOption, quantizeCliError } from '../quantize-options.js';

interface ServeFlags {
  model: string[];
  embedModel: string[];
  imageModel: string[];
  whisperModel: string[];
  rag?: string;
  port: number;
  host: string;
  apiKey?: string;
  maxBatch?: number;
  maxQueue?: number;
  admissionWindowMs?: number;
  loadIn?: '8bit' | '4bit';
  bodyLimitMb: number;
  cors: string[];
  runs?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function modelSpecs(flags: ServeFlags): TextModelSpec[] {
  return flags.model.map((m) => {
    try {
      return parseModelSpec(m);
    } catch (err) {
      throw new CliError(`--model ${(err as Error).message}`);
    }
  });
}

const DRAIN_AFTER_SIGTERM_MS = 30_000;

/** Resolves once a signal asked to stop; the engine then drains, a second Ctrl-C cancels. */
function untilStopped(engine: BatchEngine): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const cancel = (why: string): void => {
      process.stderr.write(`forja serve: ${why}: cancelling the streams in flight\n`);
      void engine.close();
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        if (signal === 'SIGINT') cancel('Ctrl-C again');
        return;
      }
      stopping = true;
      const { running, queued } = engine.stats();
      process.stderr.write(`\nforja serve: stopping; finishing ${running} running and ${queued} queued requests (Ctrl-C again to cancel them)\n`);
      const timer = signal === 'SIGTERM' ? setTimeout(() => cancel(`still running after ${DRAIN_AFTER_SIGTERM_MS / 1000} s`), DRAIN_AFTER_SIGTERM_MS) : undefined;
      void engine.close({ drain: true }).then(() => {
        clearTimeout(timer);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function run(flags: ServeFlags): Promise<void> {
  const specs = modelSpecs(flags);
  if (specs.length === 0 && flags.embedModel.length + flags.imageModel.length + flags.whisperModel.length === 0 && flags.rag === undefined) {
    throw new CliError('give at least one model to serve: --model DIR|ID (or --embed-model, --image-model, --whisper-model, --rag)');
  }
  let text: ServedTextModel[] = [];
  let media: MediaModels | undefined;
  let engine: BatchEngine | undefined;
  // bench:serve, 16 streams on GPT-2 small, 2 cores: 180 → 234 tokens/s and TTFT 1135 → 833 ms without spinning (a lone stream 57 → 53).
  setSpinning(false);
  try {
    try {
      text = await loadTextModels(specs, flags.loadIn ? { loadIn: flags.loadIn } : {});
    } catch (err) {
      throw quantizeCliError(`serve --model ${flags.model.join(' --model ')}`, err, { bits: '--load-in' });
    }
    try {
      media = await MediaModels.load({ embedModels: flags.embedModel, imageModels: flags.imageModel, whisperModels: flags.whisperModel, ...(flags.rag !== undefined && { rag: flags.rag }) });
    } catch (err) {
      throw cliErrorFrom('serve', err);
    }
    engine = createBatchEngine(engineModels(text), {
      ...(flags.maxBatch !== undefined && { maxBatch: flags.maxBatch }),
      ...(flags.maxQueue !== undefined && { maxQueue: flags.maxQueue }),
      ...(flags.admissionWindowMs !== undefined && { admissionWindowMs: flags.admissionWindowMs }),
    });
    const routes: RouteModule[] = [mediaRoutes(media), runsRoutes(flags.runs === undefined ? {} : { dir: flags.runs }), studioRoutes()];
    const app = await buildServer({
      textModels: text,
      engine,
      ...(flags.apiKey !== undefined && { apiKey: flags.apiKey }),
      bodyLimit: Math.round(flags.bodyLimitMb * 2 ** 20),
      ...(flags.cors.length > 0 && { corsOrigins: flags.cors }),
      routes,
      onError: (err) => process.stderr.write(`forja serve: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`),
    });
    let url: string;
    try {
      url = await app.listen({ port: flags.port, host: flags.host });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CliError(`--port ${flags.port}: the port is in use on ${flags.host}; pick another`, EXIT.failure);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CliError(`--host ${flags.host}: not an address of this machine`);
      throw cliErrorFrom('serve', err);
    }
    const names = [...text.map((m) => m.id), ...media.names];
    process.stdout.write(`forja serve: listening on ${url}/v1 (models: ${names.join(', ')})${flags.apiKey === undefined ? '' : '; Bearer key required'}; studio at ${url}/\n`);
    await untilStopped(engine);
    await app.close();
    process.stderr.write('forja serve: stopped\n');
  } finally {
    await engine?.close();
    await media?.release();
    await releaseTextModels(text);
  }
}

const numberAtLeast = (flag: string, min: number) => (v: string): number => {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min) throw new InvalidArgumentError(`${flag} must be a number of at least ${min}, got '${v}'`);
  return x;
};

const directory = (flag: string) => (v: string): string => {
  if (!statSync(v, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidArgumentError(`${flag} ${v}: not a directory`);
  return v;
};

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve models over an OpenAI-compatible HTTP API (chat, completions, embeddings, images) with continuous batching')
    .option('--model <dir|id[:adapter]>', 'a causal LM to serve (repeatable); DIR:ADAPTER_DIR also serves a LoRA adapter as model "base:adapter" on the same loaded base', collect, [])
    .option('--embed-model <dir|id>', 'an embedding model for /v1/embeddings (repeatable)', collect, [])
    .option('--image-model <run-dir>', 'an MNIST image model run directory for /v1/images/generations (repeatable)', collect, [])
    .option('--whisper-model <dir|id>', 'a Whisper model for /v1/audio/transcriptions (repeatable)', collect, [])
    .option('--rag <store>', 'a RAG store (SQLite file or postgres:// URL) for /v1/rag/ask')
    .option('--port <n>', 'TCP port (0: any free port)', nonNegativeInt('--port'), 8000)
    .option('--host <host>', 'address to bind (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on every /v1 route (default: $FORJA_API_KEY if set)', process.env.FORJA_API_KEY)
    .option('--max-batch <n>', 'sequences per running decode batch and model (default 16)', positiveInt('--max-batch'))
    .option('--max-queue <n>', 'requests waiting beyond the running ones before new ones get 429 (default 256)', nonNegativeInt('--max-queue'))
    .option(
      '--admission-window-ms <ms>',
      'an idle server waits until this long passes with no new request, so a burst starts as one batch (at most 10 windows; 0: start at once; default 10)',
      numberInRange('--admission-window-ms', 0, 1000),
    )
    .option('--load-in <bits>', 'quantize float checkpoints while loading: 8bit or 4bit', loadInOption)
    .option('--body-limit-mb <mb>', `largest request body in MiB (default ${DEFAULT_BODY_LIMIT / 2 ** 20})`, numberAtLeast('--body-limit-mb', 0.001), DEFAULT_BODY_LIMIT / 2 ** 20)
    .option('--cors <origin>', 'allow browser calls from this origin (repeatable; "*" for any); off by default', collect, [])
    .option('--runs <dir>', 'show the training runs under DIR (forja train --out DIR/NAME) with live loss curves in the studio at /', directory('--runs'))
    .action(run);
}
