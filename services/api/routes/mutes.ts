import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { Config } from '../../../lib/config.ts';
import { decodeCursor, encodeCursor } from '../../../lib/cursor.ts';
import { withTransaction } from '../../../lib/db.ts';
import { AppError } from '../../../lib/errors.ts';
import { reapplyVerdicts } from '../../../lib/mute-verdicts.ts';
import { createMute, getMute, liftMute, listMutes } from '../../../lib/mutes.repo.ts';
import type { Mute, MuteEvent } from '../../../lib/mutes.repo.ts';
import { isRepoId, isRepoPart } from '../../../lib/repo-id.ts';
import { listLinks } from '../links.ts';
import { FindingCodeParam, IdParams, Links, Page, PageQuery, StringEnum, errors } from '../schemas.ts';

const Actor = Type.String({ minLength: 1, maxLength: 200, description: 'who (a name or an email), for the audit' });
const Reason = Type.String({ minLength: 1, maxLength: 2000 });
const Scope = StringEnum(['model', 'org'] as const);

const MuteBody = Type.Object(
  {
    scope: Scope,
    target: Type.String({ minLength: 1, maxLength: 200, description: 'org/name for a model, org for an org' }),
    code: FindingCodeParam,
    reason: Reason,
    by: Actor,
  },
  { additionalProperties: false },
);
const MuteListQuery = Type.Composite([
  PageQuery,
  Type.Object({ all: Type.Optional(Type.Boolean()), target: Type.Optional(Type.String({ maxLength: 200 })) }),
]);
const LiftQuery = Type.Object({ by: Actor, reason: Type.Optional(Reason) }, { additionalProperties: false });
const Event = Type.Object({
  action: Type.String(),
  actor: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  at: Type.String({ format: 'date-time' }),
});
const MuteOut = Type.Object({
  id: Type.Integer(),
  scope: Type.String(),
  target: Type.String(),
  code: Type.String(),
  reason: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  active: Type.Boolean(),
  deletedBy: Type.Union([Type.String(), Type.Null()]),
  deletedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  events: Type.Optional(Type.Array(Event, { description: 'the audit trail: every creation and lifting' })),
  links: Links,
});

const out = (cfg: Config, m: Mute & { events?: MuteEvent[] }) => ({
  id: m.id,
  scope: m.scope,
  target: m.target,
  code: m.code,
  reason: m.reason,
  createdBy: m.createdBy,
  createdAt: m.createdAt.toISOString(),
  active: m.deletedAt === null,
  deletedBy: m.deletedBy,
  deletedAt: m.deletedAt?.toISOString() ?? null,
  ...(m.events ? { events: m.events.map((e) => ({ ...e, at: e.at.toISOString() })) } : {}),
  links: {
    self: `${cfg.publicUrl}/v1/mutes/${m.id}`,
    ...(m.scope === 'model' ? { page: `${cfg.publicUrl}/models/${m.target}`, hub: `${cfg.hubUrl}/${m.target}` } : {}),
  },
});

/**
 * /v1/mutes: silence a finding code on a model or an org. Muted findings stay visible (marked muted) but leave
 * verdicts and alerts; creating or lifting a mute recomputes the verdicts it covers and is recorded with who and why.
 */
export async function muteRoutes(app: FastifyInstance): Promise<void> {
  const { pool, cfg } = app.deps;
  const write = { onRequest: app.requireToken };

  app.get<{ Querystring: Static<typeof MuteListQuery> }>(
    '/mutes',
    {
      schema: {
        tags: ['mutes'],
        summary: 'Mutes, newest first (active ones unless all=true)',
        querystring: MuteListQuery,
        response: { 200: Page('mutes', MuteOut), ...errors(400, 401) },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const rows = await listMutes(pool, {
        includeLifted: req.query.all ?? false,
        includePrivate: req.authenticated(),
        target: req.query.target,
        beforeId: decodeCursor('mutes', req.query.cursor),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const nextCursor = rows.length > limit ? encodeCursor('mutes', page[page.length - 1].id) : null;
      return { mutes: page.map((m) => out(cfg, m)), nextCursor, links: listLinks(cfg, req.url, nextCursor) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/mutes/:id',
    {
      schema: {
        tags: ['mutes'],
        summary: 'One mute with its audit trail',
        params: IdParams,
        response: { 200: MuteOut, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const m = await getMute(pool, req.params.id);
      if (!m) throw new AppError('not_found', `no mute ${req.params.id}`);
      return out(cfg, m);
    },
  );

  app.post<{ Body: Static<typeof MuteBody> }>(
    '/mutes',
    {
      ...write,
      schema: {
        tags: ['mutes'],
        summary: 'Mute a finding code on a model or an org',
        security: [{ bearer: [] }],
        body: MuteBody,
        response: { 201: MuteOut, ...errors(400, 401, 409, 503) },
      },
    },
    async (req, reply) => {
      const { scope, target } = req.body;
      const valid = scope === 'model' ? isRepoId(target) : isRepoPart(target);
      if (!valid)
        throw new AppError(
          'bad_request',
          `target must be ${scope === 'model' ? 'org/name' : 'an org'} for scope ${scope}`,
        );
      const created = await withTransaction(pool, (c) =>
        createMute(c, { scope, target, code: req.body.code, reason: req.body.reason, createdBy: req.body.by }),
      );
      if (!created) throw new AppError('conflict', `${req.body.code} is already muted on ${scope} ${target}`);
      await reapplyVerdicts(pool, scope, target);
      const m = await getMute(pool, created.id);
      return reply.status(201).header('location', `${cfg.publicUrl}/v1/mutes/${created.id}`).send(out(cfg, m!));
    },
  );

  app.delete<{ Params: Static<typeof IdParams>; Querystring: Static<typeof LiftQuery> }>(
    '/mutes/:id',
    {
      ...write,
      schema: {
        tags: ['mutes'],
        summary: 'Lift a mute (kept, with who lifted it and why, in its audit trail)',
        security: [{ bearer: [] }],
        params: IdParams,
        querystring: LiftQuery,
        response: { 200: MuteOut, ...errors(400, 401, 404, 503) },
      },
    },
    async (req) => {
      const lifted = await withTransaction(pool, (c) =>
        liftMute(c, req.params.id, req.query.by, req.query.reason ?? null),
      );
      if (!lifted) throw new AppError('not_found', `no active mute ${req.params.id}`);
      await reapplyVerdicts(pool, lifted.scope, lifted.target);
      return out(cfg, (await getMute(pool, lifted.id))!);
    },
  );
}
