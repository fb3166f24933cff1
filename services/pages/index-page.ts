/** `/`: every watched model, the one with the most recent release first; filters and a search that work without JS. */
import type { IndexFilter, IndexRow } from '../../lib/pages.repo.ts';
import type { Html } from './html.ts';
import { html, page } from './html.ts';
import { modelPath, releasePath, shortSha, utc } from './links.ts';
import { STATUS_WORDS, verdictBadge } from './status-words.ts';
import type { Shown } from './status-words.ts';

const VERDICTS: Shown[] = ['critical', 'warning', 'ok', 'error', 'pending'];

function filters(f: Omit<IndexFilter, 'limit' | 'includePrivate'>, authors: string[]): Html {
  return html`<form class="filters" method="get" action="/" role="search">
    <label>Search <input type="search" name="q" value="${f.q ?? ''}" placeholder="org/name" /></label>
    <label
      >Status
      <select name="verdict">
        <option value="">any</option>
        ${VERDICTS.map(
          (v) => html`<option value="${v}" ${f.verdict === v ? html`selected` : ''}>${STATUS_WORDS[v].word}</option>`,
        )}
      </select></label
    >
    <label
      >Author
      <select name="author">
        <option value="">any</option>
        ${authors.map((a) => html`<option value="${a}" ${f.author === a ? html`selected` : ''}>${a}</option>`)}
      </select></label
    >
    <button type="submit">Filter</button>
  </form>`;
}

function row(r: IndexRow): Html {
  const checking = r.latestStatus === 'pending' || r.latestStatus === 'checking';
  const shown: Shown = r.verdict ?? 'pending';
  return html`<tr data-repo="${r.repo}">
    <td data-label="model"><a href="${modelPath(r.repo)}">${r.repo}</a></td>
    <td data-label="status">${verdictBadge(shown)}${checking && r.verdict ? html` ${verdictBadge('pending')}` : ''}</td>
    <td data-label="codes" class="codes">
      ${r.codes.length ? r.codes.map((c) => html`<code>${c}</code> `) : html`<span class="muted">—</span>`}
    </td>
    <td data-label="latest release">
      ${
        r.latestSha
          ? html`<a href="${releasePath(r.repo, r.latestSha)}"><code>${shortSha(r.latestSha)}</code></a>
              ${checking ? html`<span class="muted">checking</span>` : ''}`
          : '—'
      }
    </td>
    <td data-label="time"><time datetime="${r.receivedAt?.toISOString() ?? ''}">${utc(r.receivedAt)}</time></td>
  </tr>`;
}

/** The index page. `filter` echoes the query so the form keeps what was asked. */
export function indexPage(
  rows: IndexRow[],
  filter: Omit<IndexFilter, 'limit' | 'includePrivate'>,
  authors: string[],
): string {
  const filtered = Boolean(filter.q || filter.verdict || filter.author);
  const body = html`<h1>Watched models</h1>
    <p class="muted">
      Latest release first. Status words:
      ${VERDICTS.map(
        (v, i) =>
          html`${i ? ' · ' : ''}<strong>${STATUS_WORDS[v].word}</strong> (${v === 'pending' ? 'checks running' : v})`,
      )}.
    </p>
    ${filters(filter, authors)}
    ${
      rows.length === 0
        ? html`<p id="no-models">
            ${filtered ? 'No model matches these filters.' : 'hubwatch has not seen a release yet.'}
          </p>`
        : html`<table class="stack" id="models">
            <thead>
              <tr>
                <th>model</th>
                <th>status</th>
                <th>codes</th>
                <th>latest release</th>
                <th>received</th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(row)}
            </tbody>
          </table>`
    }`;
  return page('hubwatch — watched models', body, {
    feed: filter.author ? `/feed.xml?author=${encodeURIComponent(filter.author)}` : '/feed.xml',
  });
}
