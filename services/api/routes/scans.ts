import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { SourceError } from '../../../lib/byte-source.ts';
import { AppError } from '../../../lib/errors.ts';
import { hubOptions, resolveRevision } from '../../../lib/hub-client.ts';
import { acceptRelease } from '../../../lib/pipeline/ingest.ts';
import { releaseLinks } from '../links.ts';
import { Links, RepoId, Revision, errors } from '../schemas.ts';

const ScanBody = Type.Object(
  {
    repo: RepoId,
    revision: Type.Optional(Revision),
  },
  { additionalProperties: false },
);

const Accepted = Type.Object({
  repo: Type.String(),
  sha: Type.String(),
  releaseId: Type.Integer(),
  created: Type.Boolean({ description: 'false when this revision was already known' }),
  links: Links,
});

/** POST /v1/scans: a client asks for a repo revision to be checked (bearer HUBWATCH_API_TOKEN). */
export async function scanRoutes(app: FastifyInstance): Promise<void> {
  const schema = {
    tags: ['models'],
    summary: 'Ask for a revision of a Hub repo to be checked',
    security: [{ bearer: [] }],
    body: ScanBody,
    response: { 202: Accepted, ...errors(400, 401, 404, 502, 503) },
  };
  app.post<{ Body: Static<typeof ScanBody> }>('/scans', { onRequest: app.requireToken, schema }, async (req, reply) => {
    const { cfg, pool, queues, log } = app.deps;
    let sha: string;
    try {
      sha = (await resolveRevision(hubOptions(cfg), req.body.repo, req.body.revision ?? 'main')).sha;
    } catch (e) {
      if (e instanceof SourceError && e.status === 404) throw new AppError('not_found', e.message);
      throw new AppError('source_unreachable', `the Hub could not be asked: ${(e as Error).message}`);
    }
    const r = await acceptRelease({ pool, queues, log }, req.body.repo, sha, 'manual');
    const links = releaseLinks(cfg, req.body.repo, sha);
    return reply
      .status(202)
      .header('location', links.self)
      .send({ repo: req.body.repo, sha, releaseId: r.releaseId, created: r.created, links });
  });
}
