/**
 * POST /v1/embeddings in OpenAI's format: `input` as a string, a list of strings, a list of token ids or a
 * list of lists of them; `encoding_format` float or base64 (little-endian float32, what the openai client
 * asks for by default and decodes); `dimensions` only at the model's own width, since neither BERT nor CLIP
 * was trained to be cut shorter. Inputs over the model's limit are refused, as OpenAI does, not truncated.
 */
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../errors.js';
import type { ServerContext } from '../app.js';
import type { EmbeddingInputs, MediaModels, ServedEmbedder } from '../media-models.js';

/** OpenAI's limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

export interface EmbeddingsBody {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

const tokenIds = { type: 'array', items: { type: 'integer', minimum: 0 } } as const;

export const embeddingsSchema = {
  type: 'object',
  required: ['model', 'input'],
  additionalProperties: false,
  properties: {
    model: { type: 'string', minLength: 1 },
    input: {
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }, tokenIds, { type: 'array', items: tokenIds }],
    },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const;

export interface EmbeddingObject {
  object: 'embedding';
  index: number;
  embedding: number[] | string;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: EmbeddingObject[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** The request's inputs as texts or token-id rows, refusing what OpenAI refuses (empty input, empty strings, too many). */
export function embeddingInputs(input: EmbeddingsBody['input']): EmbeddingInputs {
  if (typeof input === 'string') {
    if (input === '') throw badRequest("'input' is an empty string; give the text to embed", 'input');
    return { kind: 'text', texts: [input] };
  }
  if (!Array.isArray(input)) throw badRequest("'input' must be a string, a list of strings, or token ids", 'input');
  if (input.length === 0) throw badRequest("'input' is an empty list; give at least one text", 'input');
  if (input.length > MAX_EMBEDDING_INPUTS) throw badRequest(`'input' has ${input.length} entries; at most ${MAX_EMBEDDING_INPUTS} per request`, 'input');
  if (input.every((x) => typeof x === 'number')) return { kind: 'ids', rows: [input as number[]] };
  if (input.every((x) => typeof x === 'string')) {
    const empty = (input as string[]).findIndex((t) => t === '');
    if (empty >= 0) throw badRequest(`'input[${empty}]' is an empty string; every text must have content`, `input[${empty}]`);
    return { kind: 'text', texts: input as string[] };
  }
  if (input.every((x) => Array.isArray(x))) {
    const empty = (input as number[][]).findIndex((row) => row.length === 0);
    if (empty >= 0) throw badRequest(`'input[${empty}]' is an empty list of token ids`, `input[${empty}]`);
    return { kind: 'ids', rows: input as number[][] };
  }
  throw badRequest("'input' mixes kinds: give all strings, one list of token ids, or all lists of token ids", 'input');
}

/** A float32 vector as OpenAI's base64: its little-endian bytes. */
export function base64Embedding(v: Float32Array): string {
  const bytes = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i]!, i * 4);
  return bytes.toString('base64');
}

/** `dimensions` checked against what the model makes. */
export function checkDimensions(dimensions: number | undefined, embedder: Pick<ServedEmbedder, 'id' | 'dimension'>): void {
  if (dimensions === undefined || dimensions === embedder.dimension) return;
  throw badRequest(`model \`${embedder.id}\` makes ${embedder.dimension}-dimensional embeddings and cannot shorten them; omit 'dimensions' or pass ${embedder.dimension}`, 'dimensions');
}

export function embeddingsResponse(vectors: readonly Float32Array[], model: string, promptTokens: number, format: 'float' | 'base64' = 'float'): EmbeddingsResponse {
  return {
    object: 'list',
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? base64Embedding(v) : Array.from(v) })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** What a request body asks of `embedder`, answered. */
export async function createEmbeddings(body: EmbeddingsBody, embedder: ServedEmbedder): Promise<EmbeddingsResponse> {
  checkDimensions(body.dimensions, embedder);
  const inputs = embeddingInputs(body.input);
  const { vectors, promptTokens } = await embedder.embed(inputs);
  return embeddingsResponse(vectors, embedder.id, promptTokens, body.encoding_format ?? 'float');
}

/** POST /v1/embeddings over the served embedders. */
export function registerEmbeddingsRoute(app: FastifyInstance, ctx: ServerContext, media: MediaModels): void {
  app.post<{ Body: EmbeddingsBody }>('/v1/embeddings', { schema: { body: embeddingsSchema } }, async (request) => {
    const embedder = media.pick(media.embedders, request.body.model, 'make embeddings', ctx.models().map((m) => m.id));
    return createEmbeddings(request.body, embedder);
  });
}
