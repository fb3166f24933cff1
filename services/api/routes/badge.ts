import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { getModel, listReleases } from '../../../lib/releases.repo.ts';
import { badgeSvg } from '../../pages/badge-svg.ts';
import type { Shown } from '../../pages/status-words.ts';
import { MODEL_AND_FINDING_TABLES } from '../plugins/response-cache.ts';
import { ModelParams } from '../schemas.ts';

/**
 * `/models/:org/:name/badge.svg`: the model's status as a shields-style badge for READMEs; grey `unknown` for a
 * model hubwatch has not seen (or a private one, to a caller without the token), `checking` before a first verdict.
 */
export async function badgeRoutes(app: FastifyInstance): Promise<void> {
  const { pool } = app.deps;
  app.get<{ Params: Static<typeof ModelParams> }>(
    '/models/:org/:name/badge.svg',
    {
      config: { cache: { reads: MODEL_AND_FINDING_TABLES } },
      schema: { params: ModelParams, produces: ['image/svg+xml'], tags: ['pages'] },
    },
    async (req, reply) => {
      const model = await getModel(pool, `${req.params.org}/${req.params.name}`);
      let state: Shown | 'unknown' = 'unknown';
      if (model && (!model.private || req.authenticated()))
        state = model.verdict ?? ((await listReleases(pool, model.id, 1)).length ? 'pending' : 'unknown');
      // Badges are fetched through caching proxies (GitHub's camo): keep them short-lived so a new verdict shows.
      return reply
        .type('image/svg+xml; charset=utf-8')
        .header('cache-control', 'max-age=60, s-maxage=60')
        .send(badgeSvg(state));
    },
  );
}
