import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { decodeCursor, encodeCursor } from '../../../lib/cursor.ts';
import { AppError } from '../../../lib/errors.ts';
import { searchFindings } from '../../../lib/findings.repo.ts';
import { listLinks, releaseLinks } from '../links.ts';
import { MODEL_AND_FINDING_TABLES } from '../plugins/response-cache.ts';
import { FindingListQuery, Links, Page, errors } from '../schemas.ts';

const FoundFinding = Type.Object({
  id: Type.Integer(),
  repo: Type.String(),
  sha: Type.String(),
  code: Type.String(),
  severity: Type.String(),
  check: Type.String(),
  title: Type.String(),
  detail: Type.String(),
  files: Type.Array(Type.String()),
  muted: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  links: Links,
});

/** GET /v1/findings: findings of every release's current attempt, newest first, filtered. */
export async function findingRoutes(app: FastifyInstance): Promise<void> {
  const { pool, cfg } = app.deps;
  app.get<{ Querystring: Static<typeof FindingListQuery> }>(
    '/findings',
    {
      config: { cache: { reads: MODEL_AND_FINDING_TABLES } },
      schema: {
        tags: ['findings'],
        summary: 'Findings across releases, newest first; filter by code, severity, check and time',
        description: 'Evidence is in each release (links.self). Private repos are included with the API token.',
        querystring: FindingListQuery,
        response: { 200: Page('findings', FoundFinding), ...errors(400, 401) },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const since = req.query.since !== undefined ? new Date(req.query.since) : undefined;
      if (since && Number.isNaN(since.getTime()))
        throw new AppError('bad_request', `since must be an RFC 3339 time, got ${JSON.stringify(req.query.since)}`);
      const rows = await searchFindings(pool, {
        code: req.query.code,
        severity: req.query.severity,
        check: req.query.check,
        since,
        beforeId: decodeCursor('findings', req.query.cursor),
        includePrivate: req.authenticated(),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const nextCursor = rows.length > limit ? encodeCursor('findings', page[page.length - 1].id) : null;
      return {
        findings: page.map((f) => ({
          id: f.id,
          repo: f.repo,
          sha: f.sha,
          code: f.code,
          severity: f.severity,
          check: f.check,
          title: f.title,
          detail: f.detail,
          files: f.files,
          muted: f.muteId !== null,
          createdAt: f.createdAt.toISOString(),
          links: releaseLinks(cfg, f.repo, f.sha),
        })),
        nextCursor,
        links: listLinks(cfg, req.url, nextCursor),
      };
    },
  );
}
