/** The engine's typed errors: the server turns them into HTTP statuses (429, 400, 404, 503). */

/** More requests wait than the engine's queue holds. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(
    readonly queued: number,
    readonly maxQueue: number,
  ) {
    super(`the request queue is full (${queued} waiting, at most ${maxQueue}); retry later`);
  }
}

/** The prompt and the tokens asked for do not fit in the model's context. */
export class ContextLengthError extends Error {
  override readonly name = 'ContextLengthError';
  constructor(
    readonly promptTokens: number,
    readonly maxNewTokens: number,
    readonly contextSize: number,
  ) {
    super(
      `the prompt has ${promptTokens} tokens and ${maxNewTokens} new tokens were requested, ${promptTokens + maxNewTokens} in all, ` +
        `but the model's context holds ${contextSize}; shorten the prompt or ask for at most ${Math.max(0, contextSize - promptTokens)} new tokens`,
    );
  }
}

/** The request names a model the engine was not given. */
export class UnknownModelError extends Error {
  override readonly name = 'UnknownModelError';
  constructor(
    readonly model: string,
    readonly available: readonly string[],
  ) {
    super(`no model named "${model}" is loaded (loaded: ${available.join(', ')})`);
  }
}

/** A request field is out of range or malformed; `field` names it (SequenceRequest's names). */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** submit after close(). */
export class EngineClosedError extends Error {
  override readonly name = 'EngineClosedError';
  constructor() {
    super('the engine is closed and takes no new requests');
  }
}
