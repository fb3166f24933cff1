/**
 * JSON bodies of the Hub API routes the mirror serves: model entries (model info and the models list),
 * tree entries and paths-info entries, in the shapes huggingface.co returns.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { FileEntry, RepoMeta, RepoStore, RevisionManifest } from './store.ts';
import { objectId } from './webhook.ts';

/** One entry of `/tree` and `/paths-info`. */
export interface TreeEntry {
  type: 'file' | 'directory';
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit?: { id: string; title: string; date: string };
  securityFileStatus?: Record<string, unknown>;
}

/** Fields the Hub returns for `_id` and `id` whatever `expand` asks for. */
const ALWAYS = new Set(['_id', 'id']);

function parsedConfig(store: RepoStore, repo: string, m: RevisionManifest): Record<string, unknown> | undefined {
  if (!m.files.some((f) => f.path === 'config.json')) return undefined;
  const p = store.filePath(repo, m.sha, 'config.json');
  try {
    const v: unknown = existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function tagsOf(m: RevisionManifest, config: Record<string, unknown> | undefined): string[] {
  const tags = new Set<string>();
  if (config) tags.add('transformers');
  if (m.files.some((f) => f.path.endsWith('.safetensors'))) tags.add('safetensors');
  if (typeof config?.model_type === 'string') tags.add(config.model_type);
  tags.add('text-generation');
  const cardTags = m.cardData?.tags;
  if (Array.isArray(cardTags)) for (const t of cardTags) if (typeof t === 'string') tags.add(t);
  return [...tags];
}

/**
 * A model entry as `/api/models/{repo}/revision/{rev}` and `/api/models` return it. When `expand` is non-empty
 * the Hub returns only `_id`, `id` and the expanded fields (so `sha` is absent unless asked for), else the default set.
 */
export function modelEntry(
  store: RepoStore,
  repo: string,
  meta: RepoMeta,
  m: RevisionManifest,
  expand: string[],
): Record<string, unknown> {
  const config = parsedConfig(store, repo, m);
  const full: Record<string, unknown> = {
    _id: objectId(`model:${repo}`),
    id: repo,
    modelId: repo,
    author: repo.split('/')[0],
    sha: m.sha,
    private: meta.private,
    gated: false,
    disabled: false,
    downloads: 0,
    likes: 0,
    lastModified: m.sha === meta.refs.main ? meta.lastModified : m.createdAt,
    createdAt: meta.createdAt,
    pipeline_tag: 'text-generation',
    library_name: config ? 'transformers' : undefined,
    tags: tagsOf(m, config),
    cardData: m.cardData ?? undefined,
    siblings: m.files.map((f) => ({ rfilename: f.path })),
    config,
  };
  const wanted = expand.length > 0 ? new Set([...ALWAYS, ...expand]) : null;
  return Object.fromEntries(Object.entries(full).filter(([k, v]) => v !== undefined && (!wanted || wanted.has(k))));
}

function fileEntry(f: FileEntry): TreeEntry {
  return { type: 'file', oid: f.gitOid, size: f.size, path: f.path, ...(f.lfs ? { lfs: { ...f.lfs } } : {}) };
}

/** Every directory path implied by the file paths of a revision ('' excluded). */
function directories(m: RevisionManifest): Map<string, FileEntry[]> {
  const dirs = new Map<string, FileEntry[]>();
  for (const f of m.files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      const list = dirs.get(d);
      if (list) list.push(f);
      else dirs.set(d, [f]);
    }
  }
  return dirs;
}

function dirEntry(path: string, files: FileEntry[]): TreeEntry {
  const h = createHash('sha1');
  for (const f of files) h.update(`${f.path}\0${f.gitOid}\n`);
  return { type: 'directory', oid: h.digest('hex'), size: 0, path };
}

/**
 * The entries under `path` ('' = root): immediate children, or every descendant when `recursive`.
 * Returns null when `path` is not a directory of the revision.
 */
export function treeEntries(m: RevisionManifest, path: string, recursive: boolean): TreeEntry[] | null {
  const dirs = directories(m);
  const base = path.replace(/^\/+|\/+$/g, '');
  if (base !== '' && !dirs.has(base)) return null;
  const prefix = base === '' ? '' : `${base}/`;
  const depth = (p: string): number => p.slice(prefix.length).split('/').length;
  const inScope = (p: string): boolean => p.startsWith(prefix) && (recursive || depth(p) === 1);
  const out: TreeEntry[] = [];
  for (const [d, files] of dirs) if (inScope(d)) out.push(dirEntry(d, files));
  for (const f of m.files) if (inScope(f.path)) out.push(fileEntry(f));
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Entries for the requested paths that exist (files or directories), as `/paths-info` returns them. */
export function pathsInfoEntries(m: RevisionManifest, paths: unknown, expand: boolean): TreeEntry[] {
  if (!Array.isArray(paths)) return [];
  const dirs = directories(m);
  const out: TreeEntry[] = [];
  for (const p of paths) {
    if (typeof p !== 'string') continue;
    const f = m.files.find((x) => x.path === p);
    const e = f ? fileEntry(f) : dirs.has(p) ? dirEntry(p, dirs.get(p)!) : null;
    if (!e) continue;
    // Per-file history is not tracked: the revision itself stands in for the file's last commit.
    if (expand) e.lastCommit = { id: m.sha, title: m.message, date: m.createdAt };
    if (expand && f?.security) e.securityFileStatus = f.security;
    out.push(e);
  }
  return out;
}

/**
 * Attaches `lastCommit` to tree entries when `expand=true` was asked for, and `securityFileStatus` to files whose
 * fixture carries one (the Hub sends it for scanned files; without it a client must treat the file as not scanned).
 */
export function withLastCommit(entries: TreeEntry[], m: RevisionManifest): TreeEntry[] {
  const security = new Map(m.files.filter((f) => f.security).map((f) => [f.path, f.security!]));
  return entries.map((e) => ({
    ...e,
    lastCommit: { id: m.sha, title: m.message, date: m.createdAt },
    ...(e.type === 'file' && security.has(e.path) ? { securityFileStatus: security.get(e.path) } : {}),
  }));
}
