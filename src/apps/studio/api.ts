/** The server's API as the studio calls it: JSON requests with the API key, and server-sent events read from fetch. */

const KEY_STORAGE = 'forja.apiKey';

export function apiKey(): string {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

/** Fired on window when the key changes, so lists read with the old one are read again. */
export const KEY_CHANGED = 'forja-key-changed';

export function setApiKey(key: string): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  dispatchEvent(new Event(KEY_CHANGED));
}

function headers(json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (json) h['content-type'] = 'application/json';
  const key = apiKey();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

/** An answer that was not 2xx, with OpenAI's error message when the body has one. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function failure(res: Response): Promise<ApiFailure> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return new ApiFailure(res.status, `${res.status}: ${body.error.message}`);
  } catch {
    // not JSON: the text itself says it
  }
  return new ApiFailure(res.status, `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: headers(false), ...(signal && { signal }) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { method: 'POST', headers: headers(true), body: JSON.stringify(body), ...(signal && { signal }) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Server-sent events from GET (body undefined) or POST; ends when the server ends the stream or `signal` aborts. */
export async function* sse(path: string, body: unknown, signal: AbortSignal): AsyncGenerator<SseEvent> {
  const init: RequestInit = body === undefined ? { headers: headers(false), signal } : { method: 'POST', headers: headers(true), body: JSON.stringify(body), signal };
  const res = await fetch(path, init);
  if (!res.ok) throw await failure(res);
  if (!res.body) throw new Error(`${path}: the answer has no body`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const event = { event: 'message', data: '' };
        const data: string[] = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith('event:')) event.event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length > 0) yield { ...event, data: data.join('\n') };
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

export interface ModelCard {
  id: string;
  kind?: string;
  owned_by?: string;
}

export async function listModels(): Promise<ModelCard[]> {
  // /api/models is /v1/models with each model's kind.
  const body = await getJson<{ data: ModelCard[] }>('/api/models');
  return body.data;
}

/** Models of the given kinds (cards without a kind count as text models). */
export function modelsOfKind(models: readonly ModelCard[], kinds: readonly string[]): ModelCard[] {
  return models.filter((m) => kinds.includes(m.kind ?? 'text'));
}

export const isAbort = (err: unknown): boolean => err instanceof DOMException && err.name === 'AbortError';

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
