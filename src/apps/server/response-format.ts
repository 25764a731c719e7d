/**
 * `response_format`: `text` (nothing to do), `json_object` (the output parses as a JSON object) and
 * `json_schema` (it also matches the schema), enforced by constrained decoding as a per-request logits
 * processor (src/text/constrained/).
 */
import type { LogitsProcessor } from '../../text/logits-processors.js';
import type { ServerContext } from './app.js';
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

export function responseFormatProcessors(_ctx: ServerContext, _model: ServedTextModel, format: ResponseFormat | undefined): LogitsProcessor[] {
  if (format === undefined || format.type === 'text') return [];
  if (format.type === 'json_schema' && !('json_schema' in format)) throw badRequest("Missing required parameter: 'response_format.json_schema'", 'response_format.json_schema');
  throw badRequest(`response_format ${format.type} is not available on this server yet`, 'response_format.type', 'unsupported_response_format');
}
