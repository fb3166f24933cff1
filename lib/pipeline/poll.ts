import { hubOptions, listAuthorModels, resolveRevision } from '../hub-client.ts';
import { findRelease } from '../releases.repo.ts';
import type { PipelineDeps } from './deps.ts';
import { acceptRelease } from './ingest.ts';

/**
 * The poller: lists the most recently modified models of each watched author and accepts every (repo, sha)
 * not seen yet, so a missed webhook (endpoint down, Hub suspension) never loses a release.
 */
export async function pollAuthors(deps: PipelineDeps, authors: string[]): Promise<{ seen: number; accepted: number }> {
  let seen = 0;
  let accepted = 0;
  for (const author of authors) {
    for (const m of await listAuthorModels(hubOptions(deps.cfg), author)) {
      if (!m.sha) continue;
      seen++;
      if (await findRelease(deps.pool, m.repo, m.sha)) continue;
      if ((await acceptRelease(deps, m.repo, m.sha, 'poller')).created) accepted++;
    }
  }
  return { seen, accepted };
}

/** The poller for repos watched one by one: each repo's main is accepted when its commit is new. */
export async function pollRepos(deps: PipelineDeps, repos: string[]): Promise<{ seen: number; accepted: number }> {
  let accepted = 0;
  for (const repo of repos) {
    const { sha } = await resolveRevision(hubOptions(deps.cfg), repo, 'main');
    if (await findRelease(deps.pool, repo, sha)) continue;
    if ((await acceptRelease(deps, repo, sha, 'poller')).created) accepted++;
  }
  return { seen: repos.length, accepted };
}
