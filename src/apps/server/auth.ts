/**
 * `--api-key`: every /v1 route needs `Authorization: Bearer KEY`. The key and the header are compared as
 * SHA-256 digests with timingSafeEqual, so neither the time nor a length check tells how much matched.
 * /health, /metrics and the studio answer without a key (load balancers and scrapers probe them).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError, sendError } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Whether a request path needs the key (the query string is not part of it). */
export const needsKey = (url: string): boolean => /^\/v1(\/|$|\?)/.test(url);

export function keyMatches(expected: Buffer, header: string | undefined): boolean {
  const match = /^Bearer +(.+)$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(expected, digest(match[1]!.trim()));
}

export function registerAuth(app: FastifyInstance, apiKey: string | undefined): void {
  if (apiKey === undefined) return;
  if (apiKey.length === 0) throw new Error('the API key is empty');
  const expected = digest(apiKey);
  // onRequest runs before the body is read, so a request without the key never uploads its body.
  app.addHook('onRequest', async (request, reply) => {
    if (!needsKey(request.url)) return;
    const header = request.headers.authorization;
    if (header === undefined) {
      return sendError(reply, new ApiError(401, "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'", { code: 'missing_api_key' }));
    }
    if (!keyMatches(expected, header)) return sendError(reply, new ApiError(401, 'Incorrect API key provided', { code: 'invalid_api_key' }));
  });
}
