/** An Atom (RFC 4287) feed of verdict changes: one entry per release whose verdict differs from the one before. */
import type { VerdictChange } from '../../lib/pages.repo.ts';
import { esc } from './html.ts';
import { releasePath, shortSha } from './links.ts';
import { STATUS_WORDS } from './status-words.ts';

export interface FeedMeta {
  /** Absolute URL of the service (links in a feed must be absolute). */
  publicUrl: string;
  /** The feed's own URL path and query. */
  self: string;
  title: string;
}

const abs = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

function entry(c: VerdictChange, base: string): string {
  const now = STATUS_WORDS[c.verdict].word;
  const was = c.previous ? STATUS_WORDS[c.previous].word : null;
  const title = `${c.repo}: ${now}${was ? ` (was ${was})` : ' (first release checked)'}`;
  const link = abs(base, releasePath(c.repo, c.sha));
  return `<entry>
<id>${esc(link)}#${esc(c.verdict)}</id>
<title>${esc(title)}</title>
<link rel="alternate" type="text/html" href="${esc(link)}"/>
<updated>${c.at.toISOString()}</updated>
<author><name>${esc(c.author)}</name></author>
<category term="${esc(c.verdict)}"/>
<summary>${esc(`Release ${shortSha(c.sha)} of ${c.repo} is ${c.verdict}${c.previous ? `; the release before it was ${c.previous}` : ''}.`)}</summary>
</entry>`;
}

/** The feed document; `changes` newest first. */
export function atomFeed(changes: VerdictChange[], meta: FeedMeta): string {
  const updated = (changes[0]?.at ?? new Date(0)).toISOString();
  const self = abs(meta.publicUrl, meta.self);
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<id>${esc(self)}</id>
<title>${esc(meta.title)}</title>
<link rel="self" type="application/atom+xml" href="${esc(self)}"/>
<link rel="alternate" type="text/html" href="${esc(abs(meta.publicUrl, '/'))}"/>
<updated>${updated}</updated>
<generator>hubwatch</generator>
${changes.map((c) => entry(c, meta.publicUrl)).join('\n')}
</feed>
`;
}
