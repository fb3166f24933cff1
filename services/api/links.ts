/** The one naming for links in API answers: `self` (this API resource), `page` (the human page), `hub` (the Hub). */
import type { Config } from '../../lib/config.ts';

export interface ResourceLinks {
  self: string;
  page?: string;
  hub?: string;
  next?: string;
}

type Urls = Pick<Config, 'publicUrl' | 'hubUrl'>;

export function modelLinks(cfg: Urls, repo: string): ResourceLinks {
  return {
    self: `${cfg.publicUrl}/v1/models/${repo}`,
    page: `${cfg.publicUrl}/models/${repo}`,
    hub: `${cfg.hubUrl}/${repo}`,
  };
}

export function releaseLinks(cfg: Urls, repo: string, sha: string): ResourceLinks {
  return {
    self: `${cfg.publicUrl}/v1/models/${repo}/releases/${sha}`,
    page: `${cfg.publicUrl}/models/${repo}/releases/${sha}`,
    hub: `${cfg.hubUrl}/${repo}/commit/${sha}`,
  };
}

/** Links of a list page: itself and, when there is one, the next page (same query, the next cursor). */
export function listLinks(cfg: Urls, url: string, nextCursor: string | null): ResourceLinks {
  const self = new URL(url, cfg.publicUrl);
  const links: ResourceLinks = { self: `${cfg.publicUrl}${self.pathname}${self.search}` };
  if (nextCursor) {
    self.searchParams.set('cursor', nextCursor);
    links.next = `${cfg.publicUrl}${self.pathname}${self.search}`;
  }
  return links;
}
