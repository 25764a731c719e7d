/**
 * The non-chat models `forja serve` loads at start-up from its options, each picked by a request's `model`:
 * embedders (a sentence-transformers BERT or a CLIP text tower), MNIST image models (a diffusion, GAN, DCGAN or
 * VAE run directory), a Whisper transcriber, and a RAG store. Requests only ever name a model; no request
 * path or field reaches the file system.
 */
import { basename, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { ClipModel, isClipCheckpoint, NoTokenizerError } from '../../models/clip/clip-model.js';
import { lengthBatches, padBatch, type EncodedText } from '../../models/bert/encoding.js';
import { loadSentenceEmbedder, type SentenceEmbedder } from '../../models/bert/embedder.js';
import { loadRunModel, readRunInfo, type MnistModel } from '../../models/mnist/index.js';
import { WhisperTranscriber } from '../../models/whisper/transcribe.js';
import { createStore, redactUrl } from '../../rag/store/open.js';
import type { Store } from '../../rag/store/types.js';
import type { TextEmbedder } from '../../text/embedder.js';
import { ApiError, badRequest } from './errors.js';
import type { ModelCard } from './models.js';
import type { RouteModule } from './app.js';
import { registerEmbeddingsRoute } from './routes/embeddings.js';
import { registerImagesRoute } from './routes/images.js';
import { registerAudioRoute, type AudioRouteOptions } from './routes/audio.js';
import { registerRagRoutes } from './routes/rag.js';

/** A request's inputs: texts, or rows of the model's own token ids. */
export type EmbeddingInputs = { kind: 'text'; texts: string[] } | { kind: 'ids'; rows: number[][] };

export interface ServedEmbedder {
  id: string;
  dimension: number;
  /** Longest input in tokens, special tokens included. */
  maxTokens: number;
  created: number;
  /** The same model as retrieval sees it (RAG queries). */
  textEmbedder: TextEmbedder;
  /** One vector per input, and the tokens fed (special tokens included). Over-long inputs are a 400. */
  embed(inputs: EmbeddingInputs): Promise<{ vectors: Float32Array[]; promptTokens: number }>;
  release(): Promise<void>;
}

export interface ServedImageModel {
  id: string;
  /** The run's model kind: 'diffusion' draws digits on request, the others draw from noise. */
  kind: string;
  model: MnistModel;
  created: number;
}

export interface ServedTranscriber {
  id: string;
  transcriber: WhisperTranscriber;
  created: number;
}

export interface ServedRagStore {
  store: Store;
  /** The store's own embedding model, loaded for dense and hybrid queries; undefined for a BM25-only store. */
  embedder?: ServedEmbedder;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** The served name of a hub id or directory (the directory's last part). */
export function servedName(model: string): string {
  return existsSync(model) ? basename(resolve(model)) : model;
}

const overLimit = (i: number, tokens: number, max: number, model: string): ApiError =>
  badRequest(`'input[${i}]' is ${tokens} tokens; model \`${model}\` reads at most ${max} (special tokens included)`, `input[${i}]`, 'context_length_exceeded');

function checkIds(rows: readonly number[][], vocabSize: number, model: string): void {
  rows.forEach((row, i) => {
    const bad = row.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad >= 0) throw badRequest(`'input[${i}][${bad}]' is ${row[bad]}; model \`${model}\`'s token ids are 0-${vocabSize - 1}`, `input[${i}][${bad}]`);
  });
}

/** The tokens put around a text ([CLS] … [SEP] for BERT), found by encoding a probe word; token-id inputs get them too. */
function specialsAround(e: SentenceEmbedder): { before: number[]; after: number[] } {
  const probe = 'hello';
  const content = e.tokenizer.encode(probe, { addSpecialTokens: false });
  const full = e.tokenize(probe).ids;
  for (let at = full.length - content.length; at >= 0; at--) {
    // `before` keeps the model's default prompt, if it has one, as a text input would get it.
    if (content.every((id, k) => full[at + k] === id)) return { before: full.slice(0, at), after: full.slice(at + content.length) };
  }
  return { before: [], after: [] };
}

/**
 * Rows from concurrent requests run together: while one pass runs, new rows wait, and the next pass takes all
 * of them, so many small requests make few model runs (the embedder then groups rows by length).
 */
export class RowCoalescer<Row> {
  private pending: { rows: Row[]; resolve: (v: Float32Array[]) => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  /** Passes run so far (for tests and metrics). */
  passes = 0;

  constructor(private readonly run: (rows: Row[]) => Promise<Float32Array[]>) {}

  submit(rows: Row[]): Promise<Float32Array[]> {
    const done = new Promise<Float32Array[]>((resolve, reject) => this.pending.push({ rows, resolve, reject }));
    void this.pump();
    return done;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const taken = this.pending.splice(0);
        this.passes++;
        try {
          const vectors = await this.run(taken.flatMap((t) => t.rows));
          let at = 0;
          for (const t of taken) {
            t.resolve(vectors.slice(at, at + t.rows.length));
            at += t.rows.length;
          }
        } catch (err) {
          for (const t of taken) t.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** A sentence-transformers BERT as a served embedder: concurrent requests coalesced, rows batched by length. */
export function bertEmbedder(id: string, e: SentenceEmbedder): ServedEmbedder {
  const { before, after } = specialsAround(e);
  const coalescer = new RowCoalescer<EncodedText>(async (rows) => {
    const d = e.dimension;
    const vectors = new Array<Float32Array>(rows.length);
    for (const batch of lengthBatches(rows.map((r) => r.ids.length), { batchSize: 32, maxBatchTokens: 8192 })) {
      const { sentenceEmbedding } = await e.forward(padBatch(batch.map((i) => rows[i]!), e.padId));
      batch.forEach((i, r) => (vectors[i] = sentenceEmbedding.slice(r * d, (r + 1) * d)));
    }
    return vectors;
  });
  const rowsOf = (inputs: EmbeddingInputs): EncodedText[] => {
    if (inputs.kind === 'text') {
      return inputs.texts.map((t, i) => {
        const enc = e.tokenize(t);
        if (enc.truncatedFrom !== undefined) throw overLimit(i, enc.truncatedFrom, e.maxTokens, id);
        return enc;
      });
    }
    checkIds(inputs.rows, e.model.config.vocabSize, id);
    return inputs.rows.map((row, i) => {
      const ids = [...before, ...row, ...after];
      if (ids.length > e.maxTokens) throw overLimit(i, ids.length, e.maxTokens, id);
      return { ids, typeIds: ids.map(() => 0) };
    });
  };
  return {
    id,
    dimension: e.dimension,
    maxTokens: e.maxTokens,
    created: now(),
    textEmbedder: e,
    async embed(inputs) {
      const rows = rowsOf(inputs);
      return { vectors: await coalescer.submit(rows), promptTokens: rows.reduce((n, r) => n + r.ids.length, 0) };
    },
    release: () => e.release(),
  };
}

/** A CLIP model's text tower as a served embedder; a checkpoint without a tokenizer takes token ids only. */
export function clipEmbedder(id: string, clip: ClipModel): ServedEmbedder {
  const maxTokens = clip.maxTokens;
  const coalescer = new RowCoalescer<number[]>((rows) => clip.getTextEmbeddings(rows));
  return {
    id,
    dimension: clip.dimension,
    maxTokens,
    created: now(),
    textEmbedder: clip,
    async embed(inputs) {
      let rows: number[][];
      if (inputs.kind === 'text') {
        try {
          rows = inputs.texts.map((t) => clip.tokenize(t));
        } catch (err) {
          if (err instanceof NoTokenizerError) throw badRequest(`model \`${id}\` has no tokenizer, so it embeds token ids only: send 'input' as lists of token ids`, 'input');
          throw err;
        }
      } else {
        checkIds(inputs.rows, clip.model.config.text.vocabSize, id);
        inputs.rows.forEach((row, i) => {
          if (row.length > maxTokens) throw overLimit(i, row.length, maxTokens, id);
        });
        rows = inputs.rows;
      }
      const vectors = await coalescer.submit(rows);
      return { vectors, promptTokens: rows.reduce((n, r) => n + r.length, 0) };
    },
    release: () => clip.release(),
  };
}

/** A sentence-transformers BERT or a CLIP checkpoint, by what its config says. */
export async function loadEmbedder(model: string, name = servedName(model)): Promise<ServedEmbedder> {
  const clip = await isClipCheckpoint(model).catch(() => false);
  return clip ? clipEmbedder(name, await ClipModel.load(model)) : bertEmbedder(name, await loadSentenceEmbedder(model));
}

/** A `forja train` run directory that can draw new images (diffusion, GAN, DCGAN, VAE). */
export async function loadImageModel(dir: string): Promise<ServedImageModel> {
  const { model: kind } = await readRunInfo(dir);
  const model = await loadRunModel(dir);
  if (!model.sample && !model.sampleDigits) throw new Error(`${dir} is a '${kind}' run, which reconstructs digits but cannot draw new ones; serve a diffusion, gan, dcgan or vae run`);
  return { id: servedName(dir), kind, model, created: now() };
}

export async function loadTranscriber(model: string): Promise<ServedTranscriber> {
  return { id: servedName(model), transcriber: await WhisperTranscriber.load(model), created: now() };
}

/** The store, and its own embedding model when it has one (served as well, unless `embedders` has it). */
export async function openRagStore(location: string, embedders: readonly ServedEmbedder[] = []): Promise<ServedRagStore> {
  const store = await createStore(location);
  try {
    const { embedModel } = await store.info();
    if (embedModel === undefined) return { store };
    const embedder = embedders.find((e) => e.textEmbedder.modelId === embedModel) ?? (await loadEmbedder(embedModel));
    return { store, embedder };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** A model or store of `forja serve`'s options that did not load. */
export class MediaLoadError extends Error {
  override name = 'MediaLoadError';
  constructor(
    readonly flag: string,
    readonly value: string,
    override readonly cause: unknown,
  ) {
    super(`${flag} ${value}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export interface MediaModelOptions {
  /** `--embed-model`: hub ids or directories. */
  embedModels?: readonly string[];
  /** `--image-model`: run directories. */
  imageModels?: readonly string[];
  /** `--whisper-model`: a directory or hub id. */
  whisperModels?: readonly string[];
  /** `--rag`: a SQLite file or a postgres:// URL. */
  rag?: string;
}

/** Everything loaded, by served name, and the /v1/models cards for it. */
export class MediaModels {
  private constructor(
    readonly embedders: readonly ServedEmbedder[],
    readonly images: readonly ServedImageModel[],
    readonly transcribers: readonly ServedTranscriber[],
    readonly rag: ServedRagStore | undefined,
  ) {}

  /** Models loaded by the caller (tests, embedders of a host program); names must be unique. */
  static of(parts: { embedders?: ServedEmbedder[]; images?: ServedImageModel[]; transcribers?: ServedTranscriber[]; rag?: ServedRagStore }): MediaModels {
    const media = new MediaModels(parts.embedders ?? [], parts.images ?? [], parts.transcribers ?? [], parts.rag);
    media.checkUniqueNames();
    return media;
  }

  static async load(options: MediaModelOptions): Promise<MediaModels> {
    const embedders: ServedEmbedder[] = [];
    const images: ServedImageModel[] = [];
    const transcribers: ServedTranscriber[] = [];
    let rag: ServedRagStore | undefined;
    const loaded = (): MediaModels => new MediaModels(embedders, images, transcribers, rag);
    // Each failure names the option (as `forja serve` spells it) and the value that failed.
    const named = async <T>(flag: string, value: string, load: () => Promise<T>): Promise<T> => {
      try {
        return await load();
      } catch (err) {
        throw new MediaLoadError(flag, value, err);
      }
    };
    try {
      for (const m of options.embedModels ?? []) embedders.push(await named('--embed-model', m, () => loadEmbedder(m)));
      for (const dir of options.imageModels ?? []) images.push(await named('--image-model', dir, () => loadImageModel(dir)));
      for (const m of options.whisperModels ?? []) transcribers.push(await named('--whisper-model', m, () => loadTranscriber(m)));
      if (options.rag !== undefined) {
        const location = options.rag;
        rag = await named('--rag', redactUrl(location), () => openRagStore(location, embedders));
        if (rag.embedder && !embedders.includes(rag.embedder)) embedders.push(rag.embedder);
      }
      const media = loaded();
      media.checkUniqueNames();
      return media;
    } catch (err) {
      await loaded().release();
      throw err;
    }
  }

  private checkUniqueNames(): void {
    const seen = new Set<string>();
    for (const id of [...this.embedders, ...this.images, ...this.transcribers].map((m) => m.id)) {
      if (seen.has(id)) throw new Error(`two models would both be served as "${id}"; rename a directory`);
      seen.add(id);
    }
  }

  get names(): string[] {
    return [...this.embedders, ...this.images, ...this.transcribers].map((m) => m.id);
  }

  cards(): ModelCard[] {
    const card = (m: { id: string; created: number }, kind: ModelCard['kind']): ModelCard => ({ id: m.id, created: m.created, owned_by: 'forja', kind });
    return [...this.embedders.map((m) => card(m, 'embedding')), ...this.images.map((m) => card(m, 'image')), ...this.transcribers.map((m) => card(m, 'audio'))];
  }

  /** The served model named `model` in `list`, or a 404 (unknown) / 400 (a model of another kind). */
  pick<T extends { id: string }>(list: readonly T[], model: string, what: string, allNames: readonly string[]): T {
    const found = list.find((m) => m.id === model);
    if (found) return found;
    if (allNames.includes(model)) {
      throw badRequest(`model \`${model}\` does not ${what}; models that do: ${list.map((m) => m.id).join(', ') || 'none (start forja serve with one)'}`, 'model', 'model_not_supported');
    }
    throw new ApiError(404, `The model \`${model}\` does not exist; models that ${what}: ${list.map((m) => m.id).join(', ') || 'none (start forja serve with one)'}`, { type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
  }

  async release(): Promise<void> {
    await Promise.allSettled([...this.embedders.map((e) => e.release()), ...this.transcribers.map((t) => t.transcriber.release()), ...(this.rag ? [this.rag.store.close()] : [])]);
  }
}

/** One run at a time (per model): a model's sessions are not shared between concurrent requests. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export interface MediaRouteOptions {
  audio?: AudioRouteOptions;
}

/** The media routes as one route module for buildServer: each lists its models in GET /v1/models. */
export function mediaRoutes(media: MediaModels, options: MediaRouteOptions = {}): RouteModule {
  return async (app, ctx) => {
    for (const card of media.cards()) ctx.addModel(card);
    registerEmbeddingsRoute(app, ctx, media);
    registerImagesRoute(app, ctx, media);
    await registerAudioRoute(app, ctx, media, options.audio);
    registerRagRoutes(app, ctx, media);
  };
}
