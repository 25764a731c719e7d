/**
 * The n sequences of one request as one stream of events in arrival order, and the SSE body built from it.
 * A client that stops reading only pauses its own body: the engine keeps its sequences going (bounded by
 * max_tokens) and the other clients' streams are untouched.
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { SequenceHandle, SequenceResult, TokenEvent } from '../../text/batching/types.js';
import { toApiError } from './errors.js';
import { SSE_DONE, SSE_HEADERS, sseData } from './sequences.js';

export type MergedEvent = { index: number; token: TokenEvent } | { index: number; result: SequenceResult };

/** Events of every handle, interleaved as they come; each handle ends with its result. */
export async function* mergeHandles(handles: readonly SequenceHandle[]): AsyncGenerator<MergedEvent> {
  const queue: (MergedEvent | { error: unknown })[] = [];
  let wake: (() => void) | undefined;
  const push = (e: MergedEvent | { error: unknown }): void => {
    queue.push(e);
    wake?.();
    wake = undefined;
  };
  let open = handles.length;
  handles.forEach((h, index) => {
    void (async () => {
      try {
        for await (const token of h) push({ index, token });
        push({ index, result: await h.result });
      } catch (error) {
        push({ error });
      }
    })();
  });
  try {
    while (open > 0) {
      if (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const e = queue.shift()!;
      if ('error' in e) throw e.error;
      if ('result' in e) open--;
      yield e;
    }
  } finally {
    // An early exit (client gone, an error) must not leave sequences running.
    if (open > 0) for (const h of handles) h.cancel();
  }
}

/** Send `chunks` as server-sent events ending in `data: [DONE]`; a failure mid-stream becomes an error event. */
export function sendSse(reply: FastifyReply, chunks: AsyncIterable<unknown>): FastifyReply {
  async function* body(): AsyncGenerator<string> {
    try {
      for await (const chunk of chunks) yield sseData(chunk);
    } catch (err) {
      yield sseData(toApiError(err).body);
    }
    yield SSE_DONE;
  }
  return reply.code(200).headers(SSE_HEADERS).send(Readable.from(body(), { objectMode: false, highWaterMark: 16 * 1024 }));
}
