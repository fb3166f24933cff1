import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { ALL_CHECKS } from '../../../checks/index.ts';
import { listCheckRuns, listFindings } from '../../../lib/check-runs.repo.ts';
import { AppError } from '../../../lib/errors.ts';
import { findRelease, getModel, getRelease, listModels, listReleases } from '../../../lib/releases.repo.ts';
import type { Release } from '../../../lib/releases.repo.ts';
import { ModelListQuery, ModelParams, ReleaseParams } from '../schemas.ts';

export function releaseSummary(r: Release): Record<string, unknown> {
  return {
    sha: r.sha,
    source: r.source,
    receivedAt: r.receivedAt,
    status: r.status,
    verdict: r.verdict,
    finishedAt: r.finishedAt,
    error: r.error,
  };
}

/** /v1: models, one model with its releases, one release with its check runs and findings, the check catalog. */
export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const { pool, cfg } = app.deps;

  app.get<{ Querystring: Static<typeof ModelListQuery> }>(
    '/models',
    { schema: { querystring: ModelListQuery } },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const after = req.query.cursor ? Buffer.from(req.query.cursor, 'base64url').toString('utf8') : undefined;
      const models = await listModels(pool, {
        author: req.query.author,
        verdict: req.query.verdict,
        code: req.query.code,
        after,
        limit: limit + 1,
      });
      const page = models.slice(0, limit);
      return {
        models: page.map((m) => ({
          repo: m.repo,
          author: m.author,
          verdict: m.verdict,
          updatedAt: m.updatedAt,
          url: `${cfg.publicUrl}/models/${m.repo}`,
        })),
        nextCursor: models.length > limit ? Buffer.from(page[page.length - 1].repo).toString('base64url') : null,
      };
    },
  );

  app.get<{ Params: Static<typeof ModelParams> }>(
    '/models/:org/:name',
    { schema: { params: ModelParams } },
    async (req) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const model = await getModel(pool, repo);
      if (!model) throw new AppError('not_found', `hubwatch has not seen ${repo}`);
      const releases = await listReleases(pool, model.id);
      const latest = model.latestReleaseId !== null ? await getRelease(pool, model.latestReleaseId) : null;
      return {
        repo,
        author: model.author,
        verdict: model.verdict,
        latestRelease: latest ? releaseSummary(latest) : null,
        releases: releases.map(releaseSummary),
        statusPage: `${cfg.publicUrl}/models/${repo}`,
      };
    },
  );

  app.get<{ Params: Static<typeof ReleaseParams> }>(
    '/models/:org/:name/releases/:sha',
    { schema: { params: ReleaseParams } },
    async (req) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const release = await findRelease(pool, repo, req.params.sha);
      if (!release) throw new AppError('not_found', `no release ${req.params.sha} of ${repo}`);
      const [runs, findings] = await Promise.all([listCheckRuns(pool, release.id), listFindings(pool, release.id)]);
      const previous = release.previousReleaseId !== null ? await getRelease(pool, release.previousReleaseId) : null;
      return {
        repo,
        ...releaseSummary(release),
        previousSha: previous?.sha ?? null,
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
        })),
      };
    },
  );

  app.get('/checks', async () => ({
    checks: ALL_CHECKS.map((c) => ({ id: c.id, title: c.title, queue: c.queue, codes: c.codes })),
  }));
}
