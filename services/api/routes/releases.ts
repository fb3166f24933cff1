import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { AppError } from '../../../lib/errors.ts';
import { jobId } from '../../../lib/queues.ts';
import { findRelease, getModel, startRecheck } from '../../../lib/releases.repo.ts';
import { releaseLinks } from '../links.ts';
import { Links, ReleaseParams, errors } from '../schemas.ts';

/** POST /v1/releases/:org/:name/:sha/recheck: all checks again as a new attempt; the earlier attempts are kept. */
export async function releaseRoutes(app: FastifyInstance): Promise<void> {
  const { pool, queues, cfg } = app.deps;
  app.post<{ Params: Static<typeof ReleaseParams> }>(
    '/releases/:org/:name/:sha/recheck',
    {
      onRequest: app.requireToken,
      schema: {
        tags: ['models'],
        summary: 'Run every check of a finished release again, as a new attempt (the earlier one kept)',
        security: [{ bearer: [] }],
        params: ReleaseParams,
        response: {
          202: Type.Object({ repo: Type.String(), sha: Type.String(), attempt: Type.Integer(), links: Links }),
          ...errors(400, 401, 404, 409, 503),
        },
      },
    },
    async (req, reply) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const release = (await getModel(pool, repo)) ? await findRelease(pool, repo, req.params.sha) : null;
      if (!release) throw new AppError('not_found', `no release ${req.params.sha} of ${repo}`);
      const attempt = await startRecheck(pool, release.id);
      if (attempt === null)
        throw new AppError(
          'conflict',
          `${repo}@${release.sha.slice(0, 12)} is still being checked (${release.status})`,
        );
      // A new job id per attempt: the first attempt's job may still sit in the failed set under the plain id.
      await queues.release.add(
        'release',
        { releaseId: release.id },
        { jobId: `${jobId.release(release.id)}-attempt${attempt}` },
      );
      const links = releaseLinks(cfg, repo, release.sha);
      return reply.status(202).header('location', links.self).send({ repo, sha: release.sha, attempt, links });
    },
  );
}
