/** Slack incoming-webhook adapter: the Block Kit message for a release's verdict, and posting it. */
import type { Finding, Severity, Verdict } from '../checks/types.ts';
import { fixFor } from './finding-fixes.ts';

export class SlackRateLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Slack rate limited; retry after ${retryAfterMs} ms`);
    this.name = 'SlackRateLimited';
  }
}

const EMOJI: Record<Verdict, string> = {
  critical: ':red_circle:',
  warning: ':large_yellow_circle:',
  ok: ':large_green_circle:',
  error: ':white_circle:',
};
const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
/** Findings listed one per section; Slack allows 50 blocks a message and 3000 characters a section. */
const MAX_LISTED = 8;

/** Slack mrkdwn escaping (&, <, >), so repo-controlled text cannot inject links or mentions. */
const mrk = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** What an alert lists: critical first, then warnings; info only when there is nothing more serious. */
export function alertFindings<F extends Pick<Finding, 'severity'>>(findings: F[]): F[] {
  const sorted = [...findings].sort((a, b) => RANK[a.severity] - RANK[b.severity]);
  const serious = sorted.filter((f) => f.severity !== 'info');
  return serious.length ? serious : sorted;
}

export interface VerdictMessage {
  repo: string;
  sha: string;
  verdict: Verdict;
  previous: Verdict | null;
  /** The release's unmuted findings. */
  findings: Pick<Finding, 'code' | 'severity' | 'title'>[];
  /** The release page on hubwatch. */
  releaseUrl: string;
  /** The commit on the Hub. */
  hubUrl: string;
}

function findingBlock(f: Pick<Finding, 'code' | 'severity' | 'title'>): Record<string, unknown> {
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: `*${f.severity}* \`${f.code}\` ${mrk(clip(f.title, 300))}\n:wrench: ${mrk(fixFor(f.code))}`,
    },
  };
}

/** The Block Kit message: verdict and what it was, each listed finding with its fix, links to the release and Hub. */
export function verdictBlocks(a: VerdictMessage): Record<string, unknown> {
  const listed = alertFindings(a.findings);
  const shown = listed.slice(0, MAX_LISTED);
  const was = a.previous ? ` (was ${a.previous})` : a.verdict === 'ok' ? ' (first release seen)' : '';
  const text = `${a.repo}: ${a.verdict}${was}`;
  const counts = (['critical', 'warning', 'info'] as const)
    .map((s) => [s, a.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${EMOJI[a.verdict]} *<${a.releaseUrl}|${mrk(a.repo)}>* is *${a.verdict}*${was}\nRevision \`${a.sha.slice(0, 12)}\``,
        },
      },
      ...shown.map(findingBlock),
      ...(listed.length > shown.length
        ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${listed.length - shown.length} more` }] }]
        : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${counts.join(', ') || 'no findings'} · <${a.releaseUrl}|release page> · <${a.hubUrl}|on the Hub> · hubwatch`,
          },
        ],
      },
    ],
  };
}

/** Posts to a Slack incoming webhook. Throws SlackRateLimited on 429 (honouring Retry-After), Error otherwise. */
export async function postSlack(url: string, body: unknown, fetchImpl: typeof fetch = fetch): Promise<void> {
  const res = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status === 429) {
    const s = Number(res.headers.get('retry-after'));
    throw new SlackRateLimited(Number.isFinite(s) && s > 0 ? s * 1000 : 30_000);
  }
  if (!res.ok) throw new Error(`Slack answered ${res.status}`);
}
