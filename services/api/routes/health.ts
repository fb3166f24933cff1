import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { withTimeout } from '../../../lib/timeout.ts';
import { sendProblem } from '../problem.ts';

const Status = Type.Object({ status: Type.String() });
const Ready = Type.Object({ status: Type.String(), postgres: Type.String(), redis: Type.String() });

/** GET /healthz (the process and Postgres answer) and GET /readyz (Postgres and Redis both answer). */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { pool, queues } = app.deps;
  const check = async (what: () => Promise<unknown>): Promise<'ok' | 'down'> => {
    try {
      await withTimeout(what(), 2000, () => Promise.reject(new Error('timed out')));
      return 'ok';
    } catch {
      return 'down';
    }
  };

  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'Liveness: Postgres answers', response: { 200: Status } } },
    async (_req, reply) => {
      if ((await check(() => pool.query('SELECT 1'))) === 'ok') return { status: 'ok' };
      return sendProblem(reply, 503, 'Service Unavailable', 'database unreachable');
    },
  );

  app.get(
    '/readyz',
    { schema: { tags: ['operations'], summary: 'Readiness: Postgres and Redis answer', response: { 200: Ready } } },
    async (_req, reply) => {
      const [postgres, redis] = await Promise.all([
        check(() => pool.query('SELECT 1')),
        check(() => queues.release.getJobCounts('waiting')),
      ]);
      if (postgres === 'ok' && redis === 'ok') return { status: 'ok', postgres, redis };
      return sendProblem(reply, 503, 'Service Unavailable', `postgres ${postgres}, redis ${redis}`, {
        postgres,
        redis,
      });
    },
  );
}
