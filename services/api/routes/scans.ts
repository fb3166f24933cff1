import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import { SourceError } from '../../../lib/byte-source.ts';
import { AppError } from '../../../lib/errors.ts';
import { hubOptions, resolveRevision } from '../../../lib/hub-client.ts';
import { acceptRelease } from '../../../lib/pipeline/ingest.ts';
import { RepoId, Revision } from '../schemas.ts';
import { secretMatches } from './webhook.ts';

const ScanBody = Type.Object(
  {
    repo: RepoId,
    revision: Type.Optional(Revision),
  },
  { additionalProperties: false },
);

/** POST /v1/scans: a client asks for a repo revision to be checked (bearer HUBWATCH_API_TOKEN). */
export async function scanRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: Static<typeof ScanBody> }>('/scans', { schema: { body: ScanBody } }, async (req, reply) => {
    const { cfg, pool, queues, log } = app.deps;
    if (!cfg.apiToken)
      throw new AppError('unavailable', 'HUBWATCH_API_TOKEN is not configured; manual scans are disabled');
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (!secretMatches(token, cfg.apiToken))
      throw new AppError('unauthorized', token ? 'wrong bearer token' : 'missing bearer token');
    let sha: string;
    try {
      sha = (await resolveRevision(hubOptions(cfg), req.body.repo, req.body.revision ?? 'main')).sha;
    } catch (e) {
      if (e instanceof SourceError && e.status === 404) throw new AppError('not_found', e.message);
      throw new AppError('source_unreachable', `the Hub could not be asked: ${(e as Error).message}`);
    }
    const r = await acceptRelease({ pool, queues, log }, req.body.repo, sha, 'manual');
    return reply.status(202).send({
      repo: req.body.repo,
      sha,
      releaseId: r.releaseId,
      created: r.created,
      url: `${cfg.publicUrl}/v1/models/${req.body.repo}/releases/${sha}`,
    });
  });
}
