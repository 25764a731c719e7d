/**
 * OpenAI's error body, `{ error: { message, type, param, code } }`, with OpenAI's status codes, for every
 * failure the server answers: route errors (ApiError), fastify's schema validation and body parsing, the
 * engine's QueueFullError (429) and ContextLengthError (400), unknown routes (404). Anything else is a 500
 * whose message says only that, so internals (paths, stacks) never reach a client.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** An error a route throws to answer with `status` and OpenAI's body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly options: { type?: ApiErrorType; param?: string | null; code?: string | null } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get body(): ApiErrorBody {
    const type = this.options.type ?? defaultType(this.status);
    return { error: { message: this.message, type, param: this.options.param ?? null, code: this.options.code ?? null } };
  }
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/** 400 for a bad field, naming it. */
export const badRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, message, { param, code });

/** OpenAI's answer for a model name the server does not serve. */
export const unknownModel = (model: string, served: readonly string[]): ApiError =>
  new ApiError(404, `The model \`${model}\` does not exist (served: ${served.join(', ') || 'none'})`, { type: 'invalid_request_error', param: 'model', code: 'model_not_found' });

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** "messages[0].role" from ajv's "/messages/0/role", plus the offending key for additionalProperties/required. */
function paramOf(e: AjvError): string | null {
  const parts = (e.instancePath ?? '').split('/').filter(Boolean);
  const extra = e.params?.additionalProperty ?? e.params?.missingProperty;
  if (typeof extra === 'string') parts.push(extra);
  if (parts.length === 0) return null;
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function validationMessage(e: AjvError, param: string | null): string {
  const where = param ?? 'the request body';
  if (e.keyword === 'additionalProperties') return `Unrecognized request argument supplied: ${param}`;
  if (e.keyword === 'required') return `Missing required parameter: '${param}'`;
  if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) return `Invalid value for '${where}': must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `Invalid value for '${where}': ${e.message ?? 'does not match the schema'}`;
}

/** Engine errors (src/text/batching/errors.ts) by name, so this file does not depend on the engine's module. */
function engineError(err: Error): ApiError | undefined {
  switch (err.name) {
    case 'QueueFullError':
      return new ApiError(429, `The server is busy: ${err.message}`, { code: 'queue_full' });
    case 'ContextLengthError':
      return new ApiError(400, err.message, { code: 'context_length_exceeded' });
    case 'UnknownModelError':
      return new ApiError(404, err.message, { type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
    case 'InvalidRequestError':
      return new ApiError(400, err.message, { param: (err as Error & { field?: string }).field ?? null });
    case 'EngineClosedError':
      return new ApiError(503, 'The server is shutting down and takes no new requests', { type: 'server_error', code: 'shutting_down' });
  }
  return undefined;
}

/** Any thrown value as the ApiError to answer with. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (!(err instanceof Error)) return new ApiError(500, 'The server had an error while processing your request');
  const fe = err as FastifyError & { validation?: AjvError[] };
  if (Array.isArray(fe.validation) && fe.validation.length > 0) {
    const first = fe.validation[0]!;
    const param = paramOf(first);
    return badRequest(validationMessage(first, param), param);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest(`We could not parse the JSON body of your request: ${fe.message}`, null, 'invalid_json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('The request body is empty; send a JSON object', null, 'invalid_json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, `The request body is larger than the server's limit: ${fe.message}`, { code: 'request_too_large' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, `Unsupported Content-Type: ${fe.message}; send application/json`, { code: 'unsupported_media_type' });
  }
  if (err instanceof SyntaxError) return badRequest(`We could not parse the JSON body of your request: ${err.message}`, null, 'invalid_json');
  const engine = engineError(err);
  if (engine) return engine;
  const status = fe.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, err.message);
  return new ApiError(500, 'The server had an error while processing your request');
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const api = toApiError(err);
  return reply.code(api.status).type('application/json').send(api.body);
}

/** fastify's setErrorHandler: every error as OpenAI's body; unexpected ones are logged through `onUnexpected`. */
export function errorHandler(onUnexpected?: (err: unknown, request: FastifyRequest) => void) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const api = toApiError(err);
    if (api.status >= 500) onUnexpected?.(err, request);
    return sendError(reply, api);
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(reply, new ApiError(404, `Unknown request URL: ${request.method} ${request.url.split('?')[0]}`, { code: 'unknown_url' }));
}
