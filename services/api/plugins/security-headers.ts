import helmet from '@fastify/helmet';
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

/**
 * Security headers on pages and API through @fastify/helmet: the CSP above, `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: strict-origin-when-cross-origin` (links to the Hub carry no page paths), `X-Frame-Options`.
 * Registered on the root instance (helmet is not encapsulated), before the routes.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    frameguard: { action: 'deny' },
    // The API is read by tools on other origins (badges embedded in READMEs): resources may be loaded cross-origin.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
}
