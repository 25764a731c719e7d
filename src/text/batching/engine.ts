/**
 * The continuous-batching engine: one running batch per model, stepped in turn (round robin over
 * the models with work), yielding to the event loop between steps so I/O runs. Token events go
 * into each handle's own buffer, so a slow reader never holds up the batch.
 */
import { ModelBatch } from './batch.js';
import { ContextLengthError, EngineClosedError, InvalidRequestError, QueueFullError, UnknownModelError } from './errors.js';
import { Sequence } from './sequence.js';
import type { BatchEngine, EngineModel, EngineOptions, EngineStats, SequenceHandle, SequenceRequest } from './types.js';

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** The admission wait goes on while requests keep arriving, up to this many windows. */
const MAX_WINDOWS = 10;

class Engine implements BatchEngine {
  private readonly batches = new Map<string, ModelBatch>();
  private readonly models = new Map<string, EngineModel>();
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly maxPrefillTokens: number;
  private readonly admissionWindowMs: number;
  private turn = 0;
  /** Requests accepted so far (the admission wait watches it). */
  private submitted = 0;
  private looping = false;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(models: ReadonlyMap<string, EngineModel>, options: EngineOptions) {
    if (models.size === 0) throw new InvalidRequestError('models', 'give at least one model');
    this.maxBatch = options.maxBatch ?? 16;
    this.maxQueue = options.maxQueue ?? 256;
    this.maxPrefillTokens = options.maxPrefillTokens ?? 2048;
    this.admissionWindowMs = options.admissionWindowMs ?? 10;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new InvalidRequestError('maxBatch', `must be a positive integer, received ${this.maxBatch}`);
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 0) throw new InvalidRequestError('maxQueue', `must be a non-negative integer, received ${this.maxQueue}`);
    if (!(this.maxPrefillTokens >= 1)) throw new InvalidRequestError('maxPrefillTokens', `must be at least 1, received ${this.maxPrefillTokens}`);
    if (!(this.admissionWindowMs >= 0 && this.admissionWindowMs <= 1000)) {
      throw new InvalidRequestError('admissionWindowMs', `must be a number of milliseconds in [0, 1000], received ${this.admissionWindowMs}`);
    }
    for (const [name, model] of models) {
      this.models.set(name, model);
      this.batches.set(name, new ModelBatch(name, model.lm));
    }
  }

  submit(request: SequenceRequest): SequenceHandle {
    if (this.closed) throw new EngineClosedError();
    const name = request.model ?? this.models.keys().next().value!;
    const model = this.models.get(name);
    if (!model) throw new UnknownModelError(name, [...this.models.keys()]);
    checkRequest(request, model);
    const batch = this.batches.get(name)!;
    const waiting = this.waitingBeyondSlots() + (batch.queue.length >= this.maxBatch - batch.slots ? 1 : 0);
    if (waiting > this.maxQueue) throw new QueueFullError(this.waitingBeyondSlots(), this.maxQueue);
    const sequence = new Sequence(request, name, model, (s) => this.cancelled(s));
    batch.queue.push(sequence);
    this.submitted++;
    if (request.signal?.aborted) sequence.cancel();
    this.kick();
    // The caller gets the handle's surface only, not the engine's side of the sequence.
    return { result: sequence.result, cancel: () => sequence.cancel(), [Symbol.asyncIterator]: () => sequence[Symbol.asyncIterator]() };
  }

  stats(): EngineStats {
    let running = 0;
    let queued = 0;
    const batches: Record<string, number> = {};
    for (const [name, b] of this.batches) {
      running += b.slots;
      queued += b.queue.length;
      batches[name] = b.slots;
    }
    return { running, queued, batches };
  }

  async close(options: { drain?: boolean } = {}): Promise<void> {
    this.closed = true;
    if (!options.drain) {
      for (const b of this.batches.values()) {
        for (const s of [...b.queue, ...b.joining, ...b.rows]) s.cancel();
      }
    }
    if (this.looping) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Queued requests that no free slot of their model's batch will take at the next step. */
  private waitingBeyondSlots(): number {
    let n = 0;
    for (const b of this.batches.values()) n += Math.max(0, b.queue.length - (this.maxBatch - b.slots));
    return n;
  }

  /** A queued sequence leaves at once; a running one at its batch's next step. */
  private cancelled(s: Sequence): void {
    const queue = this.batches.get(s.modelName)!.queue;
    const at = queue.indexOf(s);
    if (at >= 0) {
      queue.splice(at, 1);
      s.finish('cancelled');
    }
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    void this.run();
  }

  private async run(): Promise<void> {
    // The main thread is blocked while a step runs, so requests that miss the first prefill
    // would each join at a later step, stalling the running rows once per join: wait until
    // a window passes with no new request.
    if (this.admissionWindowMs > 0) {
      const until = performance.now() + MAX_WINDOWS * this.admissionWindowMs;
      for (let seen = -1; seen !== this.submitted && performance.now() < until; ) {
        seen = this.submitted;
        await sleep(this.admissionWindowMs);
        // Timers run before I/O: after a pause (GC) the requests that came meanwhile are read first.
        await yieldToEventLoop();
      }
    }
    for (;;) {
      // Also lets requests submitted in the same tick join one prefill.
      await yieldToEventLoop();
      const batch = this.nextBatch();
      if (!batch) break;
      try {
        await batch.step(this.maxBatch, this.maxPrefillTokens);
      } catch (error) {
        batch.failAll(error);
      }
    }
    this.looping = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  /** The next model with work after the one stepped last, so busy models alternate. */
  private nextBatch(): ModelBatch | undefined {
    const all = [...this.batches.values()];
    for (let i = 0; i < all.length; i++) {
      const b = all[(this.turn + i) % all.length]!;
      if (b.hasWork) {
        this.turn = (this.turn + i + 1) % all.length;
        return b;
      }
    }
    return undefined;
  }
}

function checkRequest(request: SequenceRequest, model: EngineModel): void {
  const { promptIds, maxNewTokens, sampling = {}, topLogprobs } = request;
  const vocab = model.lm.vocabSize;
  if (!Array.isArray(promptIds) || promptIds.length === 0) throw new InvalidRequestError('promptIds', 'must be a non-empty array of token ids');
  promptIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new InvalidRequestError('promptIds', `position ${i}: token id ${id} is outside the vocabulary (size ${vocab})`);
  });
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new InvalidRequestError('maxNewTokens', `must be a positive integer, received ${maxNewTokens}`);
  if (promptIds.length + maxNewTokens > model.lm.maxPositions) throw new ContextLengthError(promptIds.length, maxNewTokens, model.lm.maxPositions);
  const { temperature = 1, top_p = 1, presence_penalty = 0, frequency_penalty = 0 } = sampling;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new InvalidRequestError('temperature', `must be a finite number >= 0, received ${temperature}`);
  if (!(top_p > 0 && top_p <= 1)) throw new InvalidRequestError('top_p', `must be in (0, 1], received ${top_p}`);
  for (const [field, v] of [['presence_penalty', presence_penalty], ['frequency_penalty', frequency_penalty]] as const) {
    if (!(v >= -2 && v <= 2)) throw new InvalidRequestError(field, `must be in [-2, 2], received ${v}`);
  }
  if (sampling.seed !== undefined && !Number.isInteger(sampling.seed)) throw new InvalidRequestError('seed', `must be an integer, received ${sampling.seed}`);
  if (topLogprobs !== undefined && !(Number.isInteger(topLogprobs) && topLogprobs >= 0 && topLogprobs <= 20)) {
    throw new InvalidRequestError('topLogprobs', `must be an integer in [0, 20], received ${topLogprobs}`);
  }
  request.stopTokenIds?.forEach((id) => {
    if (!Number.isInteger(id)) throw new InvalidRequestError('stopTokenIds', `must hold integer token ids, received ${id}`);
  });
  if (request.stopStrings?.some((s) => typeof s !== 'string' || s.length === 0)) throw new InvalidRequestError('stopStrings', 'must hold non-empty strings');
}

/** An engine over `models` (name → model; a request's `model` picks one, default the first). */
export function createBatchEngine(models: Readonly<Record<string, EngineModel>> | ReadonlyMap<string, EngineModel>, options: EngineOptions = {}): BatchEngine {
  const map = models instanceof Map ? models : new Map(Object.entries(models as Record<string, EngineModel>));
  return new Engine(map, options);
}
