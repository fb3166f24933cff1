/** `/models/:org/:name`: the model's status in status-page words, its open findings and its release timeline. */
import type { StoredFinding } from '../../lib/check-runs.repo.ts';
import type { Model, Release } from '../../lib/releases.repo.ts';
import type { SeverityCounts } from '../../lib/views.repo.ts';
import { findingCard } from './finding-card.ts';
import type { Html } from './html.ts';
import { html, page } from './html.ts';
import { badgePath, hubCommitUrl, hubRepoUrl, modelPath, releasePath, shortSha, utc } from './links.ts';
import { STATUS_WORDS, shownOf, verdictBadge } from './status-words.ts';
import type { Shown } from './status-words.ts';

export interface ModelPageData {
  model: Model;
  /** Newest first. */
  releases: Release[];
  counts: SeverityCounts;
  /** The release the model's verdict comes from (latest finished), and its findings. */
  verdictRelease: Release | null;
  findings: (StoredFinding & { muteId?: number | null })[];
  hubUrl: string;
}

function timeline(d: ModelPageData): Html {
  const repo = d.model.repo;
  return html`<ol class="timeline" id="timeline">
    ${d.releases.map((r) => {
      const c = d.counts.get(r.id);
      const n = c ? [`${c.critical} critical`, `${c.warning} warning`, `${c.info} info`].join(', ') : 'no findings';
      const finished = r.status === 'done' || r.status === 'failed';
      return html`<li data-sha="${r.sha}">
        <a href="${releasePath(repo, r.sha)}"><code>${shortSha(r.sha)}</code></a>
        ${verdictBadge(shownOf(r))}
        <span class="muted"
          ><time datetime="${r.receivedAt.toISOString()}">${utc(r.receivedAt)}</time> · via ${r.source}</span
        >
        <br /><span>${finished ? n : 'checks running'}</span>${r.error ? html` — ${r.error}` : ''}
      </li>`;
    })}
  </ol>`;
}

function openFindings(d: ModelPageData): Html {
  const r = d.verdictRelease;
  if (!r) return html`<p>No release has finished its checks yet.</p>`;
  const open = d.findings.filter((f) => typeof f.muteId !== 'number');
  const muted = d.findings.filter((f) => typeof f.muteId === 'number');
  return html`<p class="muted">
      From release <a href="${releasePath(d.model.repo, r.sha)}"><code>${shortSha(r.sha)}</code></a
      >, checked ${utc(r.finishedAt)}. Evidence and plots are on the release page.
    </p>
    ${open.length === 0 ? html`<p id="no-findings">No open findings: every check of this release finished.</p>` : ''}
    ${open.map((f) => findingCard(f, { evidence: false }))}
    ${
      muted.length
        ? html`<h3>Muted</h3>
            ${muted.map((f) => findingCard(f, { evidence: false }))}`
        : ''
    }`;
}

/** The model page. */
export function modelPage(d: ModelPageData): string {
  const repo = d.model.repo;
  const shown: Shown = d.model.verdict ?? 'pending';
  const newest = d.releases[0];
  const newerChecking =
    newest && (newest.status === 'pending' || newest.status === 'checking') && newest.id !== d.verdictRelease?.id;
  const body = html`<h1>${repo}</h1>
    <div class="status" data-verdict="${shown}">
      ${verdictBadge(shown)}
      <strong>
        ${d.verdictRelease ? STATUS_WORDS[shown].sentence : 'hubwatch is checking the first release of this model.'}
      </strong>
      ${
        newerChecking
          ? html`<p>
              A newer release <a href="${releasePath(repo, newest.sha)}"><code>${shortSha(newest.sha)}</code></a> is
              being checked.
            </p>`
          : ''
      }
    </div>
    <p>
      <a href="${hubRepoUrl(d.hubUrl, repo)}">Repository on the Hub</a>
      ${
        d.verdictRelease
          ? html` ·
              <a href="${hubCommitUrl(d.hubUrl, repo, d.verdictRelease.sha)}"
                >commit ${shortSha(d.verdictRelease.sha)}</a
              >`
          : ''
      }
      · <a href="/feed.xml?author=${encodeURIComponent(d.model.author)}">${d.model.author} feed</a> ·
      <a href="${badgePath(repo)}">badge</a>
    </p>
    <h2>Open findings</h2>
    ${openFindings(d)}
    <h2>Releases</h2>
    ${timeline(d)}`;
  return page(`${repo} — hubwatch`, body, { feed: `/feed.xml?author=${encodeURIComponent(d.model.author)}` });
}

/** The 404 page of a model hubwatch has not seen. */
export function unknownModelPage(repo: string): string {
  return page(
    `${repo} — hubwatch`,
    html`<h1>${repo}</h1>
      <p>hubwatch has not seen this model yet. <a href="${modelPath(repo)}/badge.svg">Its badge</a> says unknown.</p>
      <p><a href="/">All watched models</a></p>`,
  );
}
