import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { verdictChanges } from '../../../lib/pages.repo.ts';
import { atomFeed } from '../../pages/atom-feed.ts';
import { MODEL_AND_FINDING_TABLES } from '../plugins/response-cache.ts';
import { NamePart } from '../schemas.ts';

const Org = NamePart;
const FeedQuery = Type.Object({ author: Type.Optional(Type.Union([Org, Type.Literal('')])) });
const OrgParams = Type.Object({ org: Org });
const ATOM = { produces: ['application/atom+xml'], tags: ['pages'] };
const ENTRIES = 100;

/** Atom feeds of verdict changes: `/feed.xml` (all, or `?author=org`) and `/orgs/:org/feed.xml`. */
export async function feedRoutes(app: FastifyInstance): Promise<void> {
  const { pool, cfg } = app.deps;
  const send = async (reply: FastifyReply, author: string | undefined, self: string): Promise<FastifyReply> => {
    const changes = await verdictChanges(pool, { author, limit: ENTRIES });
    const title = author ? `hubwatch: verdict changes of ${author}` : 'hubwatch: verdict changes';
    return reply
      .type('application/atom+xml; charset=utf-8')
      .send(atomFeed(changes, { publicUrl: cfg.publicUrl, self, title }));
  };
  app.get<{ Querystring: Static<typeof FeedQuery> }>(
    '/feed.xml',
    { config: { cache: { reads: MODEL_AND_FINDING_TABLES } }, schema: { ...ATOM, querystring: FeedQuery } },
    (req, reply) => {
      const author = req.query.author || undefined;
      return send(reply, author, author ? `/feed.xml?author=${encodeURIComponent(author)}` : '/feed.xml');
    },
  );
  app.get<{ Params: Static<typeof OrgParams> }>(
    '/orgs/:org/feed.xml',
    { config: { cache: { reads: MODEL_AND_FINDING_TABLES } }, schema: { ...ATOM, params: OrgParams } },
    (req, reply) => send(reply, req.params.org, `/orgs/${encodeURIComponent(req.params.org)}/feed.xml`),
  );
}
