/** GET /v1/models and /v1/models/:model: every served model, text and the route modules' (embeddings, images, ...). */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';
import { unknownModel } from '../errors.js';

export function registerModels(app: FastifyInstance, ctx: ServerContext): void {
  const card = (m: ReturnType<ServerContext['models']>[number]) => ({ id: m.id, object: 'model' as const, created: m.created, owned_by: m.owned_by });
  app.get('/v1/models', async () => ({ object: 'list', data: ctx.models().map(card) }));
  app.get<{ Params: { model: string } }>('/v1/models/*', async (request) => {
    // Model ids may hold a slash (hub ids: org/name), so the rest of the path is the id.
    const id = decodeURIComponent((request.params as Record<string, string>)['*'] ?? '');
    const m = ctx.models().find((c) => c.id === id);
    if (!m) throw unknownModel(id, ctx.models().map((c) => c.id));
    return card(m);
  });
}
