/**
 * The security headers computed once at startup are the ones @fastify/helmet sets per request with the same options,
 * on successful replies, thrown errors and unknown routes alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastifyHelmet from '@fastify/helmet';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { HELMET_OPTIONS, registerSecurityHeaders, securityHeaders } from './security-headers.ts';

async function withRoutes(app: FastifyInstance): Promise<FastifyInstance> {
  app.get('/ok', async () => ({ ok: true }));
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  await app.ready();
  return app;
}

/** The response headers a reply carries, less the ones that vary per response. */
function stable(h: Record<string, unknown>): Record<string, unknown> {
  const { date: _date, ...rest } = h;
  return rest;
}

test('the precomputed headers equal @fastify/helmet per-request headers on every kind of reply', async () => {
  const viaPlugin = Fastify({ logger: false });
  await viaPlugin.register(fastifyHelmet, { global: true, ...HELMET_OPTIONS } as never);
  const precomputed = Fastify({ logger: false });
  await registerSecurityHeaders(precomputed);
  const [a, b] = await Promise.all([withRoutes(viaPlugin), withRoutes(precomputed)]);
  try {
    for (const url of ['/ok', '/boom', '/missing']) {
      const [ra, rb] = await Promise.all([a.inject(url), b.inject(url)]);
      assert.equal(rb.statusCode, ra.statusCode, url);
      assert.deepEqual(stable(rb.headers), stable(ra.headers), url);
      assert.match(String(rb.headers['content-security-policy']), /frame-ancestors 'none'/, url);
    }
    const names = Object.keys(securityHeaders());
    assert.ok(names.includes('x-content-type-options') && names.includes('referrer-policy'), names.join());
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
