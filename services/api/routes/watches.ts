import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { decodeCursor, encodeCursor } from '../../../lib/cursor.ts';
import { AppError } from '../../../lib/errors.ts';
import { createWatch, deleteWatch, getWatch, listWatches, updateWatch } from '../../../lib/watches.repo.ts';
import type { WatchInput, WatchRule } from '../../../lib/watches.repo.ts';
import type { Config } from '../../../lib/config.ts';
import { listLinks } from '../links.ts';
import { REPO_PART_PATTERN } from '../../../lib/repo-id.ts';
import { IdParams, Links, Page, PageQuery, RepoId, Severity, errors } from '../schemas.ts';

const Author = Type.String({ pattern: REPO_PART_PATTERN, description: 'an author or org' });
const SlackUrl = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 500 });
const fields = {
  slackWebhookUrl: Type.Union([SlackUrl, Type.Null()], { description: 'Slack incoming-webhook URL of this rule' }),
  minSeverity: Type.Optional(Severity),
  announceFirstOk: Type.Optional(Type.Boolean({ description: "announce a model's first release when it is ok" })),
};
const WatchBody = Type.Object(
  {
    author: Type.Optional(Author),
    repo: Type.Optional(RepoId),
    ...fields,
    slackWebhookUrl: Type.Optional(fields.slackWebhookUrl),
  },
  { additionalProperties: false, description: 'exactly one of author or repo' },
);

const WatchOut = Type.Object({
  id: Type.Integer(),
  author: Type.Optional(Type.String()),
  repo: Type.Optional(Type.String()),
  slackWebhookUrl: Type.Union([Type.String(), Type.Null()], {
    description: 'masked: origin and the last 4 characters',
  }),
  minSeverity: Severity,
  announceFirstOk: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  links: Links,
});

/** A Slack webhook URL is a secret: answers show where it points and how it ends, never the whole of it. */
const mask = (u: string | null): string | null => (u === null ? null : `${new URL(u).origin}/…${u.slice(-4)}`);

const out = (cfg: Config, w: WatchRule) => ({
  id: w.id,
  ...(w.kind === 'author' ? { author: w.value } : { repo: w.value }),
  slackWebhookUrl: mask(w.slackWebhookUrl),
  minSeverity: w.minSeverity,
  announceFirstOk: w.announceFirstOk,
  createdAt: w.createdAt.toISOString(),
  updatedAt: w.updatedAt.toISOString(),
  links: { self: `${cfg.publicUrl}/v1/watches/${w.id}` },
});

function target(b: { author?: string; repo?: string }): Pick<WatchInput, 'kind' | 'value'> | null {
  if (b.author !== undefined && b.repo !== undefined)
    throw new AppError('bad_request', 'give author or repo, not both');
  if (b.author !== undefined) return { kind: 'author', value: b.author };
  if (b.repo !== undefined) return { kind: 'repo', value: b.repo };
  return null;
}

/** /v1/watches: watch rules (they hold Slack URLs, so every route needs the API token). */
export async function watchRoutes(app: FastifyInstance): Promise<void> {
  const { pool, cfg } = app.deps;
  const auth = { onRequest: app.requireToken, schema: { tags: ['watches'], security: [{ bearer: [] }] } };

  app.get<{ Querystring: Static<typeof PageQuery> }>(
    '/watches',
    {
      ...auth,
      schema: {
        ...auth.schema,
        summary: 'Watch rules, newest first',
        querystring: PageQuery,
        response: { 200: Page('watches', WatchOut), ...errors(400, 401, 503) },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const rows = await listWatches(pool, { beforeId: decodeCursor('watches', req.query.cursor), limit: limit + 1 });
      const page = rows.slice(0, limit);
      const nextCursor = rows.length > limit ? encodeCursor('watches', page[page.length - 1].id) : null;
      return { watches: page.map((w) => out(cfg, w)), nextCursor, links: listLinks(cfg, req.url, nextCursor) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/watches/:id',
    {
      ...auth,
      schema: {
        ...auth.schema,
        summary: 'One watch rule',
        params: IdParams,
        response: { 200: WatchOut, ...errors(400, 401, 404, 503) },
      },
    },
    async (req) => {
      const w = await getWatch(pool, req.params.id);
      if (!w) throw new AppError('not_found', `no watch rule ${req.params.id}`);
      return out(cfg, w);
    },
  );

  app.post<{ Body: Static<typeof WatchBody> }>(
    '/watches',
    {
      ...auth,
      schema: {
        ...auth.schema,
        summary: 'Create a watch rule: polled, and its alerts routed to its Slack URL',
        body: WatchBody,
        response: { 201: WatchOut, ...errors(400, 401, 409, 503) },
      },
    },
    async (req, reply) => {
      const t = target(req.body);
      if (!t) throw new AppError('bad_request', 'a watch rule needs an author or a repo');
      const w = await createWatch(pool, {
        ...t,
        slackWebhookUrl: req.body.slackWebhookUrl ?? null,
        minSeverity: req.body.minSeverity ?? 'info',
        announceFirstOk: req.body.announceFirstOk ?? false,
      });
      if (!w) throw new AppError('conflict', `${t.value} already has a watch rule with this Slack URL`);
      return reply.status(201).header('location', `${cfg.publicUrl}/v1/watches/${w.id}`).send(out(cfg, w));
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof WatchBody> }>(
    '/watches/:id',
    {
      ...auth,
      schema: {
        ...auth.schema,
        summary: 'Change a watch rule',
        params: IdParams,
        body: WatchBody,
        response: { 200: WatchOut, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (req) => {
      const w = await updateWatch(pool, req.params.id, { ...target(req.body), ...pick(req.body) });
      if (w === 'conflict') throw new AppError('conflict', 'another watch rule has this target and Slack URL');
      if (!w) throw new AppError('not_found', `no watch rule ${req.params.id}`);
      return out(cfg, w);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/watches/:id',
    {
      ...auth,
      schema: {
        ...auth.schema,
        summary: 'Delete a watch rule',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(400, 401, 404, 503) },
      },
    },
    async (req, reply) => {
      if (!(await deleteWatch(pool, req.params.id))) throw new AppError('not_found', `no watch rule ${req.params.id}`);
      return reply.status(204).send();
    },
  );
}

function pick(b: {
  slackWebhookUrl?: string | null;
  minSeverity?: WatchRule['minSeverity'];
  announceFirstOk?: boolean;
}): Partial<WatchInput> {
  return {
    ...(b.slackWebhookUrl !== undefined ? { slackWebhookUrl: b.slackWebhookUrl } : {}),
    ...(b.minSeverity !== undefined ? { minSeverity: b.minSeverity } : {}),
    ...(b.announceFirstOk !== undefined ? { announceFirstOk: b.announceFirstOk } : {}),
  };
}
