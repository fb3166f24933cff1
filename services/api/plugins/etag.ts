import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** A weak validator of a response body: equal bodies, equal tags (the body is the representation). */
export function weakEtag(body: string | Buffer): string {
  return `W/"${createHash('sha1').update(body).digest('base64url')}"`;
}

/** True when an If-None-Match header names the tag (weak comparison, RFC 9110 §13.1.2) or is `*`. */
function matches(ifNoneMatch: string, etag: string): boolean {
  const opaque = (t: string): string => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim() === '*' || opaque(t) === opaque(etag));
}

/**
 * ETag on every successful GET answered with a string or buffer body (JSON, pages, SVG, metrics), and 304 Not
 * Modified with no body when the client's If-None-Match names it (also a tag set before this hook: the response
 * cache's). Streams (the docs UI's static files) keep theirs.
 */
export async function registerEtag(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', async (req, reply, payload) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || reply.statusCode !== 200) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    // A tag set before (the response cache's, or a route's own) is the one compared.
    const set = reply.getHeader('etag');
    const etag = typeof set === 'string' ? set : weakEtag(payload);
    reply.header('etag', etag);
    const inm = req.headers['if-none-match'];
    if (typeof inm === 'string' && matches(inm, etag)) {
      reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      return '';
    }
    return payload;
  });
}
