import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { listFindings } from '../../../lib/check-runs.repo.ts';
import { indexRows, listAuthors, snapshotFacts } from '../../../lib/pages.repo.ts';
import type { IndexFilter } from '../../../lib/pages.repo.ts';
import { NORM_PROFILES } from '../../../lib/release-evidence.ts';
import { comparePage } from '../../pages/compare-page.ts';
import type { SharedEvidence } from '../../pages/evidence-view.ts';
import { indexPage } from '../../pages/index-page.ts';
import { modelPage, unknownModelPage } from '../../pages/model-page.ts';
import { releasePage } from '../../pages/release-page.ts';
import { modelView, releaseView } from '../../../lib/views.repo.ts';
import { MODEL_AND_FINDING_TABLES } from '../plugins/response-cache.ts';
import { ModelParams, ReleaseParams } from '../schemas.ts';

const IndexQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'a substring of org/name' })),
  verdict: Type.Optional(
    Type.Union(
      ['', 'critical', 'warning', 'ok', 'error', 'pending'].map((v) => Type.Literal(v)),
      {
        description: 'a verdict, or pending (checks running)',
      },
    ),
  ),
  author: Type.Optional(Type.String({ maxLength: 96 })),
});
const HTML = { produces: ['text/html'], tags: ['pages'] };

function notFound(reply: FastifyReply, repo: string): FastifyReply {
  return reply.status(404).type('text/html; charset=utf-8').send(unknownModelPage(repo));
}

/** Server-rendered status pages; they work without JavaScript and escape every string from a repo. */
export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const { pool, cfg } = app.deps;
  const html = (reply: FastifyReply): FastifyReply => reply.type('text/html; charset=utf-8');

  app.get<{ Querystring: Static<typeof IndexQuery> }>(
    '/',
    { config: { cache: { reads: MODEL_AND_FINDING_TABLES } }, schema: { ...HTML, querystring: IndexQuery } },
    async (req, reply) => {
      const includePrivate = req.authenticated();
      const filter = {
        q: req.query.q?.trim() || undefined,
        verdict: (req.query.verdict || undefined) as IndexFilter['verdict'],
        author: req.query.author || undefined,
      };
      const [rows, authors] = await Promise.all([
        indexRows(pool, { ...filter, limit: 500, includePrivate }),
        listAuthors(pool, includePrivate),
      ]);
      return html(reply).send(indexPage(rows, filter, authors));
    },
  );

  app.get<{ Params: Static<typeof ModelParams> }>(
    '/models/:org/:name',
    { config: { cache: { reads: MODEL_AND_FINDING_TABLES } }, schema: { ...HTML, params: ModelParams } },
    async (req, reply) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const view = await modelView(pool, repo, { includePrivate: req.authenticated(), limit: 50 });
      if (!view) return notFound(reply, repo);
      return html(reply).send(modelPage({ ...view, hubUrl: cfg.hubUrl }));
    },
  );

  app.get<{ Params: Static<typeof ReleaseParams> }>(
    '/models/:org/:name/releases/:sha',
    { config: { cache: true }, schema: { ...HTML, params: ReleaseParams } },
    async (req, reply) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const view = await releaseView(pool, repo, req.params.sha, {
        includePrivate: req.authenticated(),
        withEvidence: true,
      });
      if (!view) return notFound(reply, `${repo}@${req.params.sha}`);
      const { release, runs, findings, previous, evidence } = view;
      const shared: SharedEvidence = {
        normProfiles: (evidence.get(NORM_PROFILES) as SharedEvidence['normProfiles']) ?? null,
        baseFingerprint: evidence.get('base-fingerprint') ?? null,
      };
      return html(reply).send(releasePage({ release, runs, findings, shared, previous, hubUrl: cfg.hubUrl }));
    },
  );

  app.get<{ Params: Static<typeof ReleaseParams> }>(
    '/models/:org/:name/releases/:sha/compare',
    { config: { cache: true }, schema: { ...HTML, params: ReleaseParams } },
    async (req, reply) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const view = await releaseView(pool, repo, req.params.sha, {
        includePrivate: req.authenticated(),
        withEvidence: false,
      });
      const previous = view?.previous;
      if (!view || !previous) return notFound(reply, `${repo}@${req.params.sha} (no previous release)`);
      const { release, findings: fa } = view;
      const facts = (id: number | null) => (id === null ? null : snapshotFacts(pool, id));
      const [a, b, fb] = await Promise.all([
        facts(release.snapshotId),
        facts(previous.snapshotId),
        listFindings(pool, previous.id),
      ]);
      return html(reply).send(
        comparePage({ release, previous, facts: a, previousFacts: b, findings: fa, previousFindings: fb }),
      );
    },
  );
}
