/** Slack incoming-webhook adapter: Block Kit message for a verdict transition. */
import type { Finding, Verdict } from '../checks/types.ts';

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

/** Slack mrkdwn escaping (&, <, >), so repo-controlled text cannot inject links or mentions. */
const mrk = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function verdictBlocks(a: {
  repo: string;
  sha: string;
  verdict: Verdict;
  previous: Verdict | null;
  findings: Pick<Finding, 'code' | 'severity' | 'title'>[];
  url: string;
}): Record<string, unknown> {
  const top = a.findings
    .slice(0, 5)
    .map((f) => `• *${f.severity}* \`${f.code}\` ${mrk(f.title).slice(0, 200)}`)
    .join('\n');
  const text = `${a.repo}: ${a.verdict}${a.previous ? ` (was ${a.previous})` : ''}`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${EMOJI[a.verdict]} *<${a.url}|${mrk(a.repo)}>* is *${a.verdict}*${a.previous ? ` (was ${a.previous})` : ''}\nRevision \`${a.sha.slice(0, 12)}\``,
        },
      },
      ...(top ? [{ type: 'section', text: { type: 'mrkdwn', text: top } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${a.findings.length} finding(s) · hubwatch` }] },
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
