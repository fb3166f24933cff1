/**
 * Verdicts in the words of public status pages (openstatus: operational / degraded / outage / unknown), and the
 * badges that show them.
 */
import type { Html } from './html.ts';
import { html } from './html.ts';

/** What a page shows for a model or release: a verdict, or that its checks are still running. */
export type Shown = 'critical' | 'warning' | 'ok' | 'error' | 'pending';

export interface StatusWords {
  /** The one or two words on a badge. */
  word: string;
  /** The sentence under the model's name. */
  sentence: string;
}

export const STATUS_WORDS: Record<Shown, StatusWords> = {
  ok: { word: 'Operational', sentence: 'All checks passed on the latest release.' },
  warning: { word: 'Degraded', sentence: 'The latest release has warnings worth reviewing before you depend on it.' },
  critical: {
    word: 'Major issue',
    sentence: 'The latest release has critical findings: users get wrong outputs, NaNs or endless generation.',
  },
  error: { word: 'Unknown', sentence: 'A check could not run on the latest release, so hubwatch cannot vouch for it.' },
  pending: { word: 'Checking', sentence: 'hubwatch is checking this release now.' },
};

/** The shown state of a release: its verdict once finished, `pending` while checks run. */
export function shownOf(r: { status: string; verdict: string | null }): Shown {
  if (r.status === 'pending' || r.status === 'checking' || r.verdict === null) return 'pending';
  return r.verdict as Shown;
}

/** A coloured status badge: the status word, with the verdict as data for tests and styles. */
export function verdictBadge(shown: Shown): Html {
  return html`<span class="verdict v-${shown}" data-verdict="${shown}">${STATUS_WORDS[shown].word}</span>`;
}
