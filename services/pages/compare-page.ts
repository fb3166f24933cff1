/** `/models/:org/:name/releases/:sha/compare`: what changed since the previous release. */
import { diffConfigs } from '../../checks/arch/config-diff.ts';
import type { StoredFinding } from '../../lib/check-runs.repo.ts';
import type { SnapshotFacts } from '../../lib/pages.repo.ts';
import type { Release } from '../../lib/releases.repo.ts';
import { objectTable } from './evidence-view.ts';
import type { Html } from './html.ts';
import { html, page } from './html.ts';
import { modelPath, releasePath, shortSha } from './links.ts';
import { shownOf, verdictBadge } from './status-words.ts';

export interface CompareData {
  release: Release;
  previous: Release;
  facts: SnapshotFacts | null;
  previousFacts: SnapshotFacts | null;
  findings: StoredFinding[];
  previousFindings: StoredFinding[];
}

const key = (f: StoredFinding): string => `${f.code} ${f.check}`;

/** Findings present in `a` and not in `b`, by code and check. */
export function findingsOnlyIn(a: StoredFinding[], b: StoredFinding[]): StoredFinding[] {
  const other = new Set(b.map(key));
  return a.filter((f) => !other.has(key(f)));
}

function list(fs: StoredFinding[], none: string, id: string): Html {
  if (fs.length === 0) return html`<p id="${id}">${none}</p>`;
  return html`<ul id="${id}">
    ${fs.map((f) => html`<li data-code="${f.code}">${f.severity} · <code>${f.code}</code> — ${f.title}</li>`)}
  </ul>`;
}

function configSection(d: CompareData): Html {
  const a = d.facts?.config;
  const b = d.previousFacts?.config;
  if (!a || !b)
    return html`<p>Not compared: ${!a ? 'this release' : 'the previous release'} has no readable config.json.</p>`;
  const changes = diffConfigs(a as never, b as never);
  if (changes.length === 0) return html`<p id="config-same">No config key changed.</p>`;
  return objectTable(
    changes.map((c) => ({
      field: c.key,
      previous: c.theirs ?? null,
      value: c.ours ?? null,
      sensitivity: c.sensitivity,
    })),
  );
}

function tokenizerSection(d: CompareData): Html {
  const a = d.facts?.tokenizerFingerprint ?? null;
  const b = d.previousFacts?.tokenizerFingerprint ?? null;
  if (!a || !b) return html`<p>Not compared: a fingerprint is missing (no tokenizer files on one side).</p>`;
  return html`<p id="tokenizer-${a === b ? 'same' : 'changed'}">
    ${a === b ? 'Unchanged' : 'Changed'}: previous <code>${b.slice(0, 16)}</code>, this release
    <code>${a.slice(0, 16)}</code>.
  </p>`;
}

/** The compare page. */
export function comparePage(d: CompareData): string {
  const { release: r, previous: p } = d;
  const body = html`<p><a href="${modelPath(r.repo)}">${r.repo}</a></p>
    <h1>Compare <code>${shortSha(p.sha)}</code> → <code>${shortSha(r.sha)}</code></h1>
    <p>
      <a href="${releasePath(r.repo, p.sha)}">previous <code>${shortSha(p.sha)}</code></a> ${verdictBadge(shownOf(p))} →
      <a href="${releasePath(r.repo, r.sha)}">this release <code>${shortSha(r.sha)}</code></a>
      ${verdictBadge(shownOf(r))}
    </p>
    ${
      [r, p].some((x) => shownOf(x) === 'pending')
        ? html`<p id="compare-pending">
            Checks are still running on one of these releases: the findings below are not final.
          </p>`
        : ''
    }
    <h2>Config changes</h2>
    ${configSection(d)}
    <h2>Tokenizer fingerprint</h2>
    ${tokenizerSection(d)}
    <h2>Findings appeared</h2>
    ${list(findingsOnlyIn(d.findings, d.previousFindings), 'None.', 'appeared')}
    <h2>Findings resolved</h2>
    ${list(findingsOnlyIn(d.previousFindings, d.findings), 'None.', 'resolved')}`;
  return page(`${r.repo}: ${shortSha(p.sha)} → ${shortSha(r.sha)} — hubwatch`, body);
}
