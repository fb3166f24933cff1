import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { ALL_CHECKS } from '../../../checks/index.ts';
import { decodeCursor, encodeCursor } from '../../../lib/cursor.ts';
import { AppError } from '../../../lib/errors.ts';
import { getModel, listModels, listReleases, verdictReleaseOf } from '../../../lib/releases.repo.ts';
import { releaseView } from '../../../lib/views.repo.ts';
import type { Model, Release } from '../../../lib/releases.repo.ts';
import { listLinks, modelLinks, releaseLinks } from '../links.ts';
import { MODEL_AND_FINDING_TABLES } from '../plugins/response-cache.ts';
import { Links, ModelListQuery, ModelParams, Page, ReleaseParams, Verdict, errors } from '../schemas.ts';
import type { Config } from '../../../lib/config.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: 'date-time' });

const ReleaseSummary = Type.Object({
  sha: Type.String(),
  source: Type.String(),
  receivedAt: Time,
  status: Type.String({ description: 'pending, checking, done or failed' }),
  verdict: Nullable(Verdict),
  attempt: Type.Integer({ description: 'check attempt (one more per recheck)' }),
  finishedAt: Nullable(Time),
  error: Nullable(Type.String()),
  links: Links,
});

const ModelItem = Type.Object({
  repo: Type.String(),
  author: Type.String(),
  verdict: Nullable(Verdict),
  private: Type.Boolean(),
  updatedAt: Time,
  links: Links,
});

const Finding = Type.Object({
  code: Type.String(),
  severity: Type.String(),
  check: Type.String(),
  title: Type.String(),
  detail: Type.String(),
  evidence: Type.Object({}, { additionalProperties: true }),
  files: Type.Array(Type.String()),
  muted: Type.Boolean({ description: 'silenced by a mute: shown, but not counted in the verdict or alerts' }),
  muteId: Nullable(Type.Integer()),
});

const CheckRun = Type.Object({
  check: Type.String(),
  queue: Type.String(),
  status: Type.String(),
  reason: Nullable(Type.String()),
  error: Nullable(Type.String()),
  durationMs: Nullable(Type.Integer()),
  finishedAt: Nullable(Time),
});

function releaseSummary(cfg: Config, r: Release): Record<string, unknown> {
  return {
    sha: r.sha,
    source: r.source,
    receivedAt: r.receivedAt,
    status: r.status,
    verdict: r.verdict,
    attempt: r.checkAttempt,
    finishedAt: r.finishedAt,
    error: r.error,
    links: releaseLinks(cfg, r.repo, r.sha),
  };
}

/** The model, when the caller may see it: private repos' models need the API token (else 404, as if unseen). */
async function visibleModel(app: FastifyInstance, req: FastifyRequest, repo: string): Promise<Model> {
  const model = await getModel(app.deps.pool, repo);
  if (!model || (model.private && !req.authenticated()))
    throw new AppError('not_found', `hubwatch has not seen ${repo}`);
  return model;
}

/** /v1: models, one model with its releases, one release with its check runs and findings, the check catalog. */
export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const { pool, cfg } = app.deps;

  app.get<{ Querystring: Static<typeof ModelListQuery> }>(
    '/models',
    {
      config: { cache: { reads: MODEL_AND_FINDING_TABLES } },
      schema: {
        tags: ['models'],
        summary: 'Watched models, most recently updated first',
        querystring: ModelListQuery,
        response: { 200: Page('models', ModelItem), ...errors(400, 401) },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const models = await listModels(pool, {
        author: req.query.author,
        verdict: req.query.verdict,
        code: req.query.code,
        after: decodeCursor('models', req.query.cursor),
        includePrivate: req.authenticated(),
        limit: limit + 1,
      });
      const page = models.slice(0, limit);
      const nextCursor = models.length > limit ? encodeCursor('models', page[page.length - 1].id) : null;
      return {
        models: page.map((m) => ({
          repo: m.repo,
          author: m.author,
          verdict: m.verdict,
          private: m.private,
          updatedAt: m.updatedAt.toISOString(),
          links: modelLinks(cfg, m.repo),
        })),
        nextCursor,
        links: listLinks(cfg, req.url, nextCursor),
      };
    },
  );

  app.get<{ Params: Static<typeof ModelParams> }>(
    '/models/:org/:name',
    {
      config: { cache: { reads: MODEL_AND_FINDING_TABLES } },
      schema: {
        tags: ['models'],
        summary: 'One model with its releases, latest first',
        params: ModelParams,
        response: {
          200: Type.Object({
            repo: Type.String(),
            author: Type.String(),
            verdict: Nullable(Verdict),
            private: Type.Boolean(),
            latestRelease: Nullable(ReleaseSummary),
            releases: Type.Array(ReleaseSummary),
            links: Links,
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const model = await visibleModel(app, req, repo);
      const releases = await listReleases(pool, model.id);
      const latest = await verdictReleaseOf(pool, model, releases);
      return {
        repo,
        author: model.author,
        verdict: model.verdict,
        private: model.private,
        latestRelease: latest ? releaseSummary(cfg, latest) : null,
        releases: releases.map((r) => releaseSummary(cfg, r)),
        links: modelLinks(cfg, repo),
      } as never;
    },
  );

  app.get<{ Params: Static<typeof ReleaseParams> }>(
    '/models/:org/:name/releases/:sha',
    {
      config: { cache: true },
      schema: {
        tags: ['models'],
        summary: 'One release (full sha or a prefix) with the check runs and findings of its current attempt',
        params: ReleaseParams,
        response: {
          200: Type.Composite([
            Type.Object({ repo: Type.String(), previousSha: Nullable(Type.String()) }),
            ReleaseSummary,
            Type.Object({ checkRuns: Type.Array(CheckRun), findings: Type.Array(Finding) }),
          ]),
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const view = await releaseView(pool, repo, req.params.sha, {
        includePrivate: req.authenticated(),
        withEvidence: false,
      });
      if (!view) {
        await visibleModel(app, req, repo);
        throw new AppError('not_found', `no release ${req.params.sha} of ${repo}`);
      }
      const { release, runs, findings, previous } = view;
      return {
        repo,
        ...releaseSummary(cfg, release),
        // The release its checks compared with; none before they start (the page shows the one they will use).
        previousSha: release.previousReleaseId !== null ? (previous?.sha ?? null) : null,
        checkRuns: runs.map((r) => ({
          check: r.checkId,
          queue: r.queue,
          status: r.status,
          reason: r.reason,
          error: r.error,
          durationMs: r.durationMs,
          finishedAt: r.finishedAt,
        })),
        findings: findings.map((f) => ({
          code: f.code,
          severity: f.severity,
          check: f.check,
          title: f.title,
          detail: f.detail,
          evidence: f.evidence,
          files: f.files,
          muted: f.muteId !== null,
          muteId: f.muteId,
        })),
      } as never;
    },
  );

  app.get(
    '/checks',
    {
      schema: {
        tags: ['models'],
        summary: 'The check catalog: every check and the codes it can emit',
        response: {
          200: Type.Object({
            checks: Type.Array(
              Type.Object({
                id: Type.String(),
                title: Type.String(),
                queue: Type.String(),
                codes: Type.Array(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    async () => ({
      checks: ALL_CHECKS.map((c) => ({ id: c.id, title: c.title, queue: c.queue, codes: c.codes })),
    }),
  );
}
