import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../../lib/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Whether the request carries the right API token; throws 401 when it carries a wrong one. */
    authenticated(): boolean;
  }
  interface FastifyInstance {
    /** preHandler for writes: 503 when no token is configured, 401 without the right one. */
    requireToken(req: FastifyRequest): Promise<void>;
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The token of an `Authorization: Bearer <token>` header; the scheme name is case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^bearer +(\S+) *$/i.exec(header) : null;
  return m ? m[1] : undefined;
}

/**
 * The API token (HUBWATCH_API_TOKEN), compared in constant time: writes need it, and so do reads of private repos'
 * releases. A request with no Authorization header is anonymous; one with a wrong token is refused (401), never
 * silently treated as anonymous.
 */
export async function registerAuth(app: FastifyInstance): Promise<void> {
  const expected = app.deps.cfg.apiToken;
  app.decorateRequest('authenticated', function (this: FastifyRequest): boolean {
    const header = this.headers.authorization;
    if (header === undefined) return false;
    const token = bearerToken(header);
    if (!expected) throw new AppError('unauthorized', 'this deployment has no API token (HUBWATCH_API_TOKEN)');
    if (!token || !timingSafeEqual(digest(token), digest(expected)))
      throw new AppError('unauthorized', token ? 'wrong bearer token' : 'Authorization must be "Bearer <token>"');
    return true;
  });
  app.decorate('requireToken', async (req: FastifyRequest): Promise<void> => {
    if (!expected) throw new AppError('unavailable', 'HUBWATCH_API_TOKEN is not configured; writes are disabled');
    if (!req.authenticated()) throw new AppError('unauthorized', 'missing bearer token');
  });
}
