import type { FastifyInstance } from 'fastify';

/** GET /healthz: 200 when Postgres answers, 503 otherwise. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', async (_req, reply) => {
    try {
      await app.deps.pool.query('SELECT 1');
      return { status: 'ok' };
    } catch {
      return reply
        .status(503)
        .type('application/problem+json')
        .send({ type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'database unreachable' });
    }
  });
}
