/**
 * `forja serve`'s HTTP app: an OpenAI-compatible API on fastify. `buildServer` returns the app without
 * listening, so tests use `app.inject` or `app.listen({ port: 0 })`; the CLI (cli/commands/serve.ts) listens.
 *
 * Plugging in (media, RAG, the studio): a route module is a `RouteModule`, `(app, ctx) => void | Promise<void>`,
 * passed in `options.routes`; serve.ts builds that list (media-models.ts's routes for --embed-model/--rag,
 * the studio's). A module declares its routes with a JSON schema per body (`additionalProperties: false`;
 * the app's ajv rejects unknown fields and never coerces types), throws `ApiError` (errors.ts) for OpenAI's
 * error body, and calls `ctx.addModel(card)` for each model it serves so GET /v1/models lists it. Every
 * /v1 route is behind --api-key (auth.ts); other paths (the studio at `/`, /api/runs) are not. Work that
 * outlives a request should stop when `ctx.closing` aborts. Request counts per route come for free.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { BatchEngine } from '../../text/batching/types.js';
import { registerAuth } from './auth.js';
import { errorHandler, notFoundHandler, unknownModel } from './errors.js';
import { ServerMetrics } from './metrics.js';
import type { ModelCard, ServedTextModel } from './models.js';
import { registerChat } from './routes/chat.js';
import { registerCompletions } from './routes/completions.js';
import { registerModels } from './routes/models.js';

export interface ServerOptions {
  /** Loaded text models (models.ts's loadTextModels); the server does not release them. */
  textModels?: readonly ServedTextModel[];
  /** The batching engine over `textModels` (the caller builds and closes it). Needed when textModels is non-empty. */
  engine?: BatchEngine;
  /** Require `Authorization: Bearer apiKey` on /v1 routes. */
  apiKey?: string;
  /** Largest request body in bytes (default 16 MiB); a larger one gets 413. */
  bodyLimit?: number;
  /**
   * Socket inactivity (ms, default 5 min: a queued request's socket is quiet until its first token) and the
   * time the whole request (headers and body) may take to arrive (ms, default 30 s), so connections that send
   * nothing or trickle are closed.
   */
  connectionTimeout?: number;
  requestTimeout?: number;
  /** Keep-alive idle time (ms, default 5 s) and requests per connection (default 1000). */
  keepAliveTimeout?: number;
  maxRequestsPerSocket?: number;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: readonly string[];
  /** More routes (media, RAG, studio); see this file's top comment. */
  routes?: readonly RouteModule[];
  /** Called with unexpected errors (500s); the library itself never prints. */
  onError?: (err: unknown) => void;
}

/** What route modules get: the served models, the engine, metrics and options. */
export interface ServerContext {
  readonly options: Readonly<ServerOptions>;
  readonly engine: BatchEngine | undefined;
  readonly metrics: ServerMetrics;
  /** Aborted when the app closes: end streams and long work then. */
  readonly closing: AbortSignal;
  /** The text model named `name`, or the 404 OpenAI answers for an unknown model. */
  textModel(name: string): ServedTextModel;
  readonly textModels: readonly ServedTextModel[];
  /** List a model in GET /v1/models. */
  addModel(card: ModelCard): void;
  models(): readonly ModelCard[];
}

export type RouteModule = (app: FastifyInstance, ctx: ServerContext) => void | Promise<void>;

export const DEFAULT_BODY_LIMIT = 16 * 2 ** 20;

function createContext(options: ServerOptions, closing: AbortSignal): ServerContext {
  const text = options.textModels ?? [];
  if (text.length > 0 && options.engine === undefined) throw new Error('buildServer: textModels need an engine');
  const byName = new Map(text.map((m) => [m.id, m]));
  const cards = new Map<string, ModelCard>(text.map((m) => [m.id, { id: m.id, created: m.created, owned_by: m.parent ?? 'forja', kind: 'text' }]));
  const metrics = new ServerMetrics(() => options.engine?.stats());
  return {
    options,
    engine: options.engine,
    metrics,
    closing,
    textModels: text,
    textModel(name) {
      const m = byName.get(name);
      if (!m) throw unknownModel(name, text.map((t) => t.id));
      return m;
    },
    addModel(card) {
      if (cards.has(card.id)) throw new Error(`buildServer: two models are named "${card.id}"`);
      cards.set(card.id, card);
    },
    models: () => [...cards.values()],
  };
}

function registerCors(app: FastifyInstance, origins: readonly string[] | undefined): void {
  if (!origins?.length) return;
  const allowed = new Set(origins);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !(allowed.has(origin) || allowed.has('*'))) return;
    reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    if (request.method === 'OPTIONS') {
      return reply.code(204).header('access-control-allow-methods', 'GET, POST, OPTIONS').header('access-control-allow-headers', 'authorization, content-type').send();
    }
  });
}

/** The app with every route registered; call `listen` (or `inject`) on it, `close` when done. */
export async function buildServer(options: ServerOptions = {}): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeout ?? 30_000;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    connectionTimeout: options.connectionTimeout ?? 300_000,
    requestTimeout,
    // Node checks requestTimeout on this period (its default, 30 s, would let idle sockets live twice as long).
    http: { connectionsCheckingInterval: Math.max(100, Math.min(5_000, requestTimeout / 2)) },
    keepAliveTimeout: options.keepAliveTimeout ?? 5_000,
    maxRequestsPerSocket: options.maxRequestsPerSocket ?? 1000,
    // Unknown fields are a 400 (not silently dropped) and "5" is not a number.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    return503OnClosing: true,
  });
  const closer = new AbortController();
  const ctx = createContext(options, closer.signal);
  app.addHook('onClose', async () => closer.abort());
  app.setErrorHandler(errorHandler((err) => options.onError?.(err)));
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onResponse', async (request, reply) => {
    ctx.metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) });
  });
  registerCors(app, options.corsOrigins);
  registerAuth(app, options.apiKey);
  app.get('/health', async () => ({ status: 'ok', models: ctx.models().map((m) => m.id), ...(ctx.engine && { engine: ctx.engine.stats() }) }));
  app.get('/metrics', async (_request, reply) => reply.type(ctx.metrics.contentType).send(await ctx.metrics.text()));
  const modules: RouteModule[] = [registerModels, registerChat, registerCompletions, ...(options.routes ?? [])];
  for (const register of modules) await register(app, ctx);
  return app;
}
