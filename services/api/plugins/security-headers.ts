import helmet from 'helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of every response. Pages are server-rendered and work without JavaScript: scripts
 * only from this origin (the API docs UI), never inline; inline styles are allowed because the page shell
 * carries its stylesheet in a `<style>` element and plots are inline SVG; nothing may frame the pages.
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
};

/** The helmet options: the CSP above, and the rest as documented on registerSecurityHeaders. */
export const HELMET_OPTIONS = {
  contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
  referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  frameguard: { action: 'deny' },
  // The API is read by tools on other origins (badges embedded in READMEs): resources may be loaded cross-origin.
  crossOriginResourcePolicy: { policy: 'cross-origin' },
} as const;

/**
 * The headers helmet sets with HELMET_OPTIONS, computed once. @fastify/helmet builds a new helmet middleware (options
 * parsed, CSP serialised) on every request; none of these headers depends on the request (no nonces, no directive
 * functions), so running helmet's middleware once against a recording response gives the same set.
 */
export function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) =>
      void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(HELMET_OPTIONS)({} as never, recorder as never, (e?: unknown) => {
    if (e) throw e;
  });
  return headers;
}

/**
 * Security headers on pages and API (helmet's): the CSP above, `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: strict-origin-when-cross-origin` (links to the Hub carry no page paths), `X-Frame-Options`.
 * Set on the raw response first thing in every request, as @fastify/helmet did, so error replies carry them too.
 * Registered on the root instance (a hook added there applies to every route), before the routes.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  const headers = Object.entries(securityHeaders());
  app.addHook('onRequest', (_req, reply, done) => {
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    done();
  });
}
