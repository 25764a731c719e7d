/**
 * `response_format`: `text` (nothing to do), `json_object` (the output parses as a JSON object) and
 * `json_schema` (it also matches the schema), enforced by constrained decoding as a per-request logits
 * processor (src/text/constrained/).
 */
import type { LogitsProcessor } from '../../text/logits-processors.js';
import { jsonConstraint, UnsupportedSchemaError, type JsonConstraintFactory } from '../../text/constrained/index.js';
import { badRequest } from './errors.js';
import type { ServedTextModel } from './models.js';

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null } };

export const responseFormatSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['text', 'json_object', 'json_schema'] },
    json_schema: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' },
        description: { type: 'string' },
        schema: { type: 'object' },
        strict: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
      },
    },
  },
  additionalProperties: false,
} as const;

// Building a constraint reads the whole vocabulary; the same few formats come back request after request.
const cache = new Map<string, JsonConstraintFactory>();
const CACHE_MAX = 32;

/**
 * A maker of one processor per sequence (each keeps its own parse state), or undefined for plain text.
 * A schema the recognizer cannot enforce is a 400 naming its keyword and JSON pointer.
 */
export function responseFormatProcessors(model: ServedTextModel, format: ResponseFormat | undefined, eosTokenIds: readonly number[]): (() => LogitsProcessor) | undefined {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_schema' && !('json_schema' in format)) throw badRequest("Missing required parameter: 'response_format.json_schema'", 'response_format.json_schema');
  const schema = format.type === 'json_schema' ? (format.json_schema.schema ?? {}) : undefined;
  const key = `${model.id}\u0000${eosTokenIds.join(',')}\u0000${schema === undefined ? '' : JSON.stringify(schema)}`;
  let factory = cache.get(key);
  if (!factory) {
    try {
      factory = jsonConstraint({ tokenizer: model.tokenizer, eosTokenIds, ...(schema !== undefined && { schema }) });
    } catch (err) {
      if (err instanceof UnsupportedSchemaError) throw badRequest(`Invalid schema for response_format: ${err.message}`, 'response_format.json_schema.schema', 'unsupported_schema');
      throw err;
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(key, factory);
  }
  const made = factory;
  return () => made();
}
