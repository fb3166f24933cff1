import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { listCheckRuns, listFindings } from '../../../lib/check-runs.repo.ts';
import { getModel, getRelease, listReleases } from '../../../lib/releases.repo.ts';
import { html, page, verdictBadge } from '../../pages/html.ts';
import { ModelParams } from '../schemas.ts';

/** Server-rendered status pages; they work without JavaScript and escape every string from a repo. */
export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const { pool } = app.deps;
  app.get<{ Params: Static<typeof ModelParams> }>(
    '/models/:org/:name',
    { schema: { params: ModelParams } },
    async (req, reply) => {
      const repo = `${req.params.org}/${req.params.name}`;
      const model = await getModel(pool, repo);
      reply.type('text/html; charset=utf-8');
      if (!model)
        return reply.status(404).send(
          page(
            `${repo} — hubwatch`,
            html`<h1>${repo}</h1>
              <p>hubwatch has not seen this model yet.</p>`,
          ),
        );
      const releases = await listReleases(pool, model.id, 50);
      const latest =
        model.latestReleaseId !== null ? await getRelease(pool, model.latestReleaseId) : (releases[0] ?? null);
      const [findings, runs] = latest
        ? await Promise.all([listFindings(pool, latest.id), listCheckRuns(pool, latest.id)])
        : [[], []];
      const body = html` <h1>${repo} ${verdictBadge(model.verdict)}</h1>
        <p>
          Latest checked revision: <code>${latest?.sha ?? '—'}</code>${latest?.error ? html` — ${latest.error}` : ''}
        </p>
        <h2>Findings</h2>
        ${findings.length === 0 ? html`<p id="no-findings">No findings for this revision.</p>` : ''}
        ${findings.map(
          (f) =>
            html`<section class="finding sev-${f.severity}" data-code="${f.code}">
              <strong>${f.severity.toUpperCase()} · ${f.code}</strong> <span>${f.title}</span>
              <p>${f.detail}</p>
              <p>Files: ${f.files.join(', ') || '—'} · check <code>${f.check}</code></p>
              <details>
                <summary>Evidence</summary>
                <pre>${JSON.stringify(f.evidence, null, 2)}</pre>
              </details>
            </section>`,
        )}
        <h2>Checks</h2>
        <table>
          <thead>
            <tr>
              <th>check</th>
              <th>status</th>
              <th>note</th>
            </tr>
          </thead>
          <tbody>
            ${runs.map(
              (r) =>
                html`<tr>
                  <td>${r.checkId}</td>
                  <td>${r.status}</td>
                  <td>${r.reason ?? r.error ?? ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <h2>Releases</h2>
        <table>
          <thead>
            <tr>
              <th>sha</th>
              <th>received</th>
              <th>status</th>
              <th>verdict</th>
            </tr>
          </thead>
          <tbody>
            ${releases.map(
              (r) =>
                html`<tr>
                  <td><code>${r.sha.slice(0, 12)}</code></td>
                  <td>${r.receivedAt.toISOString()}</td>
                  <td>${r.status}</td>
                  <td>${verdictBadge(r.verdict)}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;
      return page(`${repo} — hubwatch`, body);
    },
  );
}
