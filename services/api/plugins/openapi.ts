import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI 3 document, written by @fastify/swagger from the TypeBox schemas of every route, served at
 * `/openapi.json`. Registered on the root instance before the routes so that it sees them all.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'hubwatch',
        version: '1',
        description:
          'Release checks of open-weight models on the Hugging Face Hub: models, releases, findings, watch rules, ' +
          'mutes. Errors are application/problem+json (RFC 9457). Writes, and reads of private repos, need the ' +
          'API token (HUBWATCH_API_TOKEN) as `Authorization: Bearer <token>`.',
      },
      servers: [{ url: app.deps.cfg.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'models', description: 'Watched models, their releases and findings' },
        { name: 'findings', description: 'Findings across releases' },
        { name: 'watches', description: 'Watch rules: what is polled and where alerts go' },
        { name: 'mutes', description: 'Silenced finding codes, audited' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
