import { isRepoId } from '../repo-id.ts';

/**
 * Classifies a Hub webhook payload (hub-docs webhooks.md, payload version 3). Events that mean "a release to check":
 * a new model repo, a push to refs/heads/main, and a repo turned public (how big labs release).
 */
export type WebhookDecision =
  | { kind: 'release'; repo: string; sha: string; scope: string; action: string }
  | {
      kind: 'ignored';
      reason: string;
      repo: string | null;
      sha: string | null;
      scope: string | null;
      action: string | null;
    };

export function classifyWebhook(body: unknown, opts: { canReadPrivate: boolean }): WebhookDecision {
  const p = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const event = (p.event ?? {}) as { scope?: unknown; action?: unknown };
  const repo = (p.repo ?? {}) as { type?: unknown; name?: unknown; headSha?: unknown; private?: unknown };
  const scope = typeof event.scope === 'string' ? event.scope : null;
  const action = typeof event.action === 'string' ? event.action : null;
  const name = typeof repo.name === 'string' ? repo.name : null;
  const headSha = typeof repo.headSha === 'string' ? repo.headSha : null;
  const ignored = (reason: string, sha: string | null = headSha): WebhookDecision => ({
    kind: 'ignored',
    reason,
    repo: name,
    sha,
    scope,
    action,
  });
  if (!scope || !action) return ignored('payload has no event scope/action');
  if (repo.type !== 'model') return ignored(`repo type ${JSON.stringify(repo.type)} is not a model`);
  if (!name || !isRepoId(name)) return ignored('payload has no valid repo name');
  const isSha = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{40}$/.test(s);

  let sha: string | null = null;
  // Unknown narrower scopes (e.g. "repo.content.x") are treated as their broader scope, as the Hub docs advise.
  if (scope === 'repo' && action === 'create') sha = headSha;
  else if (scope.startsWith('repo.content') && action === 'update') {
    const refs = Array.isArray(p.updatedRefs) ? (p.updatedRefs as { ref?: unknown; newSha?: unknown }[]) : [];
    const main = refs.find((r) => r?.ref === 'refs/heads/main');
    if (!main) return ignored('no update of refs/heads/main (e.g. a pull request or another branch)');
    if (main.newSha === null) return ignored('refs/heads/main was deleted', null);
    sha = typeof main.newSha === 'string' ? main.newSha : null;
  } else if (scope.startsWith('repo.config') && action === 'update') {
    const cfg = (p.updatedConfig ?? {}) as { private?: unknown };
    if (cfg.private !== false) return ignored('config change other than going public');
    sha = headSha;
  } else return ignored(`event ${scope}/${action} is not a release`);

  if (!isSha(sha)) return ignored('no commit sha in the payload', typeof sha === 'string' ? sha : null);
  if (repo.private === true && !scope.startsWith('repo.config') && !opts.canReadPrivate) {
    return ignored('private repo and no Hub token configured; it is checked when it goes public', sha);
  }
  return { kind: 'release', repo: name, sha, scope, action };
}
