/**
 * `/models/:org/:name/releases/:sha`: every check with its status and reason, the findings with their evidence
 * and plots, and, while checks run, which are done (the page reloads itself; never "no findings" before the end).
 */
import type { CheckRun, StoredFinding } from '../../lib/check-runs.repo.ts';
import type { Release } from '../../lib/releases.repo.ts';
import type { SharedEvidence } from './evidence-view.ts';
import { normPlots } from './evidence-view.ts';
import { weightDiffChart } from './weight-diff-chart.ts';
import type { DiffBar } from './weight-diff-chart.ts';
import { findingCard } from './finding-card.ts';
import type { Html } from './html.ts';
import { html, page } from './html.ts';
import { comparePath, hubCommitUrl, modelPath, shortSha, utc } from './links.ts';
import { STATUS_WORDS, shownOf, verdictBadge } from './status-words.ts';

/** Seconds between reloads of a page whose checks are still running. */
export const REFRESH_SECONDS = 5;

export interface ReleasePageData {
  release: Release;
  runs: CheckRun[];
  findings: (StoredFinding & { muteId?: number | null })[];
  shared: SharedEvidence;
  previous: Release | null;
  hubUrl: string;
  /** Extra sections drawn from release evidence (e.g. the base-model weight-difference chart). */
  extra?: Html[];
}

const finishedRun = (r: CheckRun): boolean => r.status !== 'queued' && r.status !== 'running';

function checksTable(runs: CheckRun[]): Html {
  return html`<table class="stack" id="checks">
    <thead>
      <tr>
        <th>check</th>
        <th>status</th>
        <th>reason</th>
        <th>time</th>
      </tr>
    </thead>
    <tbody>
      ${runs.map(
        (r) =>
          html`<tr data-check="${r.checkId}" data-status="${r.status}">
            <td data-label="check"><code>${r.checkId}</code> <span class="muted">${r.queue}</span></td>
            <td data-label="status">${r.status}</td>
            <td data-label="reason">${r.reason ?? r.error ?? ''}</td>
            <td data-label="time">${r.durationMs === null ? '—' : `${r.durationMs} ms`}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function statusBox(d: ReleasePageData, running: boolean): Html {
  const shown = shownOf(d.release);
  if (!running)
    return html`<div class="status" data-verdict="${shown}">
      ${verdictBadge(shown)}
      <strong>${d.release.error ?? STATUS_WORDS[shown].sentence.replace('latest release', 'release')}</strong>
      <p class="muted">Checked ${utc(d.release.finishedAt)}.</p>
    </div>`;
  const done = d.runs.filter(finishedRun);
  return html`<div class="status" id="pending" data-verdict="pending">
    ${verdictBadge('pending')} <strong>Checks running: ${done.length} of ${d.runs.length || '?'} done</strong>
    <p>
      ${
        d.runs.length === 0
          ? 'The release is being read (files, configs, safetensors headers); checks start next.'
          : html`Done:
            ${done.length ? done.map((r, i) => html`${i ? ', ' : ''}<code>${r.checkId}</code>`) : 'none yet'}. Still
            running:
            ${d.runs.filter((r) => !finishedRun(r)).map((r, i) => html`${i ? ', ' : ''}<code>${r.checkId}</code>`)}.`
      }
      This page reloads every ${REFRESH_SECONDS} s until the verdict is in.
    </p>
  </div>`;
}

function findingsSection(d: ReleasePageData, running: boolean): Html {
  const open = d.findings.filter((f) => typeof f.muteId !== 'number');
  const muted = d.findings.filter((f) => typeof f.muteId === 'number');
  const none = running
    ? html`<p>No findings yet from the checks that are done.</p>`
    : html`<p id="no-findings">No findings: all ${d.runs.length} checks finished.</p>`;
  return html`<h2>${running ? 'Findings so far' : 'Findings'}</h2>
    ${open.length ? open.map((f) => findingCard(f, { evidence: true, shared: d.shared })) : none}
    ${
      muted.length
        ? html`<h3>Muted</h3>
            ${muted.map((f) => findingCard(f, { evidence: true, shared: d.shared }))}`
        : ''
    }`;
}

/**
 * The base-model fingerprint's per-tensor comparison: from the first finding of that check that carries it, else
 * from the evidence the check kept when it found nothing wrong (an ordinary fine-tune).
 */
function baseDiff(findings: StoredFinding[], shared: SharedEvidence): Html {
  const f = findings.find((x) => x.check === 'base-fingerprint' && Array.isArray(x.evidence.tensors));
  const ev = f?.evidence ?? (Array.isArray(shared.baseFingerprint?.tensors) ? shared.baseFingerprint : null);
  if (!ev) return html``;
  return html`<section id="base-diff">
    <h2>Difference from the base model</h2>
    <p class="muted">
      Against <code>${ev.base}</code>: relative difference of each sampled tensor (√2 marks independent weights) and its
      estimated rank.${f ? '' : ' No finding: a full-rank difference, as an ordinary fine-tune gives.'}
    </p>
    ${weightDiffChart(ev.tensors as DiffBar[])}
  </section>`;
}

/** The release page. */
export function releasePage(d: ReleasePageData): string {
  const { release: r } = d;
  const running = r.status === 'pending' || r.status === 'checking';
  const body = html`<p><a href="${modelPath(r.repo)}">${r.repo}</a></p>
    <h1>Release <code>${shortSha(r.sha)}</code></h1>
    ${statusBox(d, running)}
    <p class="muted">
      <code>${r.sha}</code> · received ${utc(r.receivedAt)} via ${r.source} ·
      <a href="${hubCommitUrl(d.hubUrl, r.repo, r.sha)}">commit on the Hub</a>
      ${r.checkAttempt > 1 ? html` · check attempt ${r.checkAttempt} (re-checked; earlier attempts are kept)` : ''}
      ${
        d.previous
          ? html` · <a href="${comparePath(r.repo, r.sha)}">compare with previous (${shortSha(d.previous.sha)})</a>`
          : ''
      }
    </p>
    ${findingsSection(d, running)}
    ${
      d.shared.normProfiles
        ? html`<section id="norm-profiles">
            <h2>Row-norm profiles</h2>
            ${normPlots(d.shared.normProfiles)}
          </section>`
        : ''
    }
    ${baseDiff(d.findings, d.shared)} ${d.extra ?? ''}
    <h2>Checks</h2>
    ${checksTable(d.runs)}`;
  return page(`${r.repo}@${shortSha(r.sha)} — hubwatch`, body, running ? { refreshSeconds: REFRESH_SECONDS } : {});
}
