/** One finding as a card: severity, code, title, what to do, detail, files, and its evidence for people. */
import type { StoredFinding } from '../../lib/check-runs.repo.ts';
import { fixFor } from '../../lib/finding-fixes.ts';
import type { SharedEvidence } from './evidence-view.ts';
import { evidenceView } from './evidence-view.ts';
import { hubScanLine } from './hub-scan.ts';
import type { Html } from './html.ts';
import { html } from './html.ts';

/** A finding with a mute id is shown as muted (kept visible, excluded from verdicts). */
type Shown = StoredFinding & { muteId?: number | null };

/**
 * Renders a finding; `evidence: false` leaves the evidence out (the model page links to the release page instead).
 */
export function findingCard(f: Shown, opts: { evidence: boolean; shared?: SharedEvidence }): Html {
  const muted = typeof f.muteId === 'number';
  return html`<section
    class="finding sev-${f.severity}${muted ? ' muted-finding' : ''}"
    data-code="${f.code}"
    data-severity="${f.severity}"
    ${muted ? html`data-muted="true"` : ''}
  >
    <h3>
      ${f.severity.toUpperCase()} ·
      <code>${f.code}</code>${muted ? html` <span class="verdict v-muted">muted</span>` : ''}
    </h3>
    <p>${f.title}</p>
    <p>${f.detail}</p>
    ${hubScanLine(f)}
    <p class="fix">What to do: ${fixFor(f.code)}</p>
    <p class="muted">Files: ${f.files.join(', ') || '—'} · check <code>${f.check}</code></p>
    ${opts.evidence ? evidenceView(f.evidence, opts.shared) : ''}
  </section>`;
}
