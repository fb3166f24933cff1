/**
 * Request routing of the Hub mirror: the subset of huggingface.co's model API that @huggingface/hub 2.17.5 uses
 * (model info, models list, commits, tree, paths-info, resolve/raw with Range).
 */
import { modelEntry, pathsInfoEntries, treeEntries, withLastCommit } from './api-json.ts';
import { serveFile } from './file-route.ts';
import type { ReqCtx } from './http-util.ts';
import { cursorOffset, nextLink, readJsonBody, sendError, sendJson } from './http-util.ts';
import type { RepoMeta, RepoStore, RevisionManifest } from './store.ts';

/** What the routes need from the mirror. */
export interface RouteDeps {
  store: RepoStore;
  pageSize: number;
}

type Resolved = { meta: RepoMeta; manifest: RevisionManifest };

/** Private repos are only visible to a request with credentials (the mirror accepts any bearer token). */
function visible(ctx: ReqCtx, meta: RepoMeta): boolean {
  return !meta.private || Boolean(ctx.req.headers.authorization);
}

/** Resolves repo@rev or answers the Hub's 401/404 with the matching X-Error-Code and returns null. */
function resolveOrFail(ctx: ReqCtx, store: RepoStore, repo: string, rev: string): Resolved | null {
  const meta = store.getRepo(repo);
  if (!meta || !visible(ctx, meta)) {
    const status = meta ? 401 : 404;
    sendError(ctx, status, 'RepoNotFound', `Repository not found: ${repo}`);
    return null;
  }
  const r = store.resolve(repo, rev);
  if (!r) sendError(ctx, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
  return r;
}

function expandOf(url: URL): string[] {
  return url.searchParams.getAll('expand').filter((e) => e !== '' && e !== 'false' && e !== 'true');
}

function listModels(ctx: ReqCtx, deps: RouteDeps): void {
  const q = ctx.url.searchParams;
  const author = q.get('author');
  const search = (q.get('search') ?? '').toLowerCase();
  const sortKey = q.get('sort') ?? 'lastModified';
  const direction = q.get('direction') === '1' ? 1 : -1;
  const expand = expandOf(ctx.url);
  // The sort keys are needed even when not asked for; the extra fields are dropped again below.
  const fields = expand.length ? [...expand, 'lastModified', 'createdAt'] : [];
  const rows: Record<string, unknown>[] = [];
  for (const repo of deps.store.listRepos()) {
    if (author && repo.split('/')[0] !== author) continue;
    if (search && !repo.toLowerCase().includes(search)) continue;
    const r = deps.store.resolve(repo, 'main');
    if (!r || !visible(ctx, r.meta)) continue;
    rows.push(modelEntry(deps.store, repo, r.meta, r.manifest, fields));
  }
  const key = (x: Record<string, unknown>): string =>
    String(x[sortKey === 'id' ? 'id' : sortKey === 'createdAt' ? 'createdAt' : 'lastModified'] ?? '');
  rows.sort((a, b) => (key(a) < key(b) ? -direction : key(a) > key(b) ? direction : 0));
  const limit = Number(q.get('limit'));
  const page = Number.isInteger(limit) && limit > 0 ? Math.min(limit, deps.pageSize) : deps.pageSize;
  const from = cursorOffset(ctx.url);
  const wanted = new Set(['_id', 'id', ...expand]);
  const body = rows
    .slice(from, from + page)
    .map((r) => (expand.length ? Object.fromEntries(Object.entries(r).filter(([k]) => wanted.has(k))) : r));
  sendJson(ctx, 200, body, nextLink(ctx, from + page, rows.length));
}

function tree(ctx: ReqCtx, deps: RouteDeps, r: Resolved, path: string): void {
  const entries = treeEntries(r.manifest, path, ctx.url.searchParams.get('recursive') === 'true');
  if (!entries) {
    sendError(ctx, 404, 'EntryNotFound', `${path} does not exist on "${r.manifest.sha}"`);
    return;
  }
  const all = ctx.url.searchParams.get('expand') === 'true' ? withLastCommit(entries, r.manifest) : entries;
  const from = cursorOffset(ctx.url);
  sendJson(ctx, 200, all.slice(from, from + deps.pageSize), nextLink(ctx, from + deps.pageSize, all.length));
}

async function pathsInfo(ctx: ReqCtx, r: Resolved): Promise<void> {
  const body = (await readJsonBody(ctx.req)) as { paths?: unknown; expand?: unknown } | undefined;
  if (!body || !Array.isArray(body.paths)) {
    sendError(ctx, 400, null, 'expected a JSON body {paths: string[]}');
    return;
  }
  sendJson(ctx, 200, pathsInfoEntries(r.manifest, body.paths, body.expand === true || body.expand === 'true'));
}

/**
 * `GET /api/models/{repo}/commits/{rev}`: the history of main up to rev, newest first, in the Hub's commit shape
 * (what @huggingface/hub's listCommits reads), paged with `limit` and a `Link: rel="next"` header.
 */
function commitList(ctx: ReqCtx, deps: RouteDeps, repo: string, rev: string): void {
  const r = resolveOrFail(ctx, deps.store, repo, rev);
  if (!r) return;
  const upTo = r.meta.revisions.findIndex((c) => c.sha === r.manifest.sha);
  const history = r.meta.revisions.slice(0, upTo + 1).reverse();
  const limit = Number(ctx.url.searchParams.get('limit'));
  const page = Number.isInteger(limit) && limit > 0 ? Math.min(limit, deps.pageSize) : deps.pageSize;
  const from = cursorOffset(ctx.url);
  const body = history.slice(from, from + page).map((c) => ({
    id: c.sha,
    title: c.message.split('\n')[0],
    message: c.message,
    authors: [{ user: repo.split('/')[0], avatar: '' }],
    date: c.createdAt,
  }));
  sendJson(ctx, 200, body, nextLink(ctx, from + page, history.length));
}

async function apiModelRoute(ctx: ReqCtx, deps: RouteDeps, seg: string[]): Promise<boolean> {
  const method = ctx.req.method ?? 'GET';
  const repo = `${seg[2]}/${seg[3]}`;
  const [kind, rev = 'main', ...rest] = seg.slice(4);
  if (kind === undefined || kind === 'revision') {
    if (method !== 'GET') return false;
    const r = resolveOrFail(ctx, deps.store, repo, kind === undefined ? 'main' : rev);
    if (r) sendJson(ctx, 200, modelEntry(deps.store, repo, r.meta, r.manifest, expandOf(ctx.url)));
    return true;
  }
  if (kind === 'commits' && method === 'GET') {
    commitList(ctx, deps, repo, rev);
    return true;
  }
  if (kind === 'tree' && method === 'GET') {
    const r = resolveOrFail(ctx, deps.store, repo, rev);
    if (r) tree(ctx, deps, r, rest.join('/'));
    return true;
  }
  if (kind === 'paths-info' && method === 'POST') {
    const r = resolveOrFail(ctx, deps.store, repo, rev);
    if (r) await pathsInfo(ctx, r);
    return true;
  }
  return false;
}

async function fileRoute(ctx: ReqCtx, deps: RouteDeps, seg: string[]): Promise<void> {
  const repo = `${seg[0]}/${seg[1]}`;
  const rev = seg[3];
  const path = seg.slice(4).join('/');
  const r = resolveOrFail(ctx, deps.store, repo, rev);
  if (!r) return;
  const file = r.manifest.files.find((f) => f.path === path);
  if (!file) {
    sendError(ctx, 404, 'EntryNotFound', `Entry not found: ${path}`);
    return;
  }
  await serveFile(ctx, deps.store.filePath(repo, r.manifest.sha, path), file, r.manifest.sha);
}

/** Answers one request; unknown routes get a 404 without an error code. */
export async function route(ctx: ReqCtx, deps: RouteDeps): Promise<void> {
  let seg: string[];
  try {
    seg = ctx.url.pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    sendError(ctx, 400, null, 'malformed URL');
    return;
  }
  const method = ctx.req.method ?? 'GET';
  if (seg[0] === 'api' && seg[1] === 'models') {
    if (seg.length === 2 && method === 'GET') return listModels(ctx, deps);
    if (seg.length >= 4 && (await apiModelRoute(ctx, deps, seg))) return;
  } else if (seg.length >= 5 && (seg[2] === 'resolve' || seg[2] === 'raw') && (method === 'GET' || method === 'HEAD')) {
    return fileRoute(ctx, deps, seg);
  }
  sendError(ctx, 404, null, `no route for ${method} ${ctx.url.pathname}`);
}
