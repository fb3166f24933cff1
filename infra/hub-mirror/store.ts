/**
 * The on-disk repo store behind the Hub mirror.
 * Layout: ROOT/<org>/<name>/repo.json, ROOT/<org>/<name>/revisions/<sha>/<files> and, beside each revision folder,
 * revisions/<sha>.manifest.json (paths, sizes and hashes, computed once at publish time so requests never rehash).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRepoId } from '../../lib/repo-id.ts';

/** One file of a revision. `gitOid` is the git blob sha1 (of the LFS pointer for LFS files), `sha256` of the content. */
export interface FileEntry {
  path: string;
  size: number;
  sha256: string;
  gitOid: string;
  lfs: { oid: string; size: number; pointerSize: number } | null;
  /** The Hub's security scan of the file, served as `securityFileStatus` by expanded tree listings (when set). */
  security?: Record<string, unknown>;
}

/** An immutable revision: its files and the model card metadata parsed from its README.md. */
export interface RevisionManifest {
  sha: string;
  createdAt: string;
  message: string;
  cardData: Record<string, unknown> | null;
  files: FileEntry[];
}

/** repo.json: a repo's settings, history and refs. */
export interface RepoMeta {
  private: boolean;
  createdAt: string;
  lastModified: string;
  cardData?: Record<string, unknown>;
  revisions: { sha: string; createdAt: string; message: string }[];
  refs: { main: string };
}

/** What a publish did: the new head, the previous one (null for a new repo), and whether main moved. */
export interface PublishResult {
  sha: string;
  oldSha: string | null;
  created: boolean;
  changed: boolean;
  meta: RepoMeta;
}

const LFS_EXT = /\.(safetensors|bin|model|pt|pth|ckpt|gguf|onnx|msgpack|h5|npz|pkl|zip|tar|gz)$/i;
/** The Hub refuses non-LFS files above 10 MB, so anything larger is an LFS file there too. */
const LFS_MIN_SIZE = 10 * 1024 * 1024;

/** Throws unless `repo` looks like `org/name` (no path tricks). */
export function assertRepoId(repo: string): void {
  if (!isRepoId(repo) || repo.includes('..')) throw new Error(`invalid repo id: ${repo}`);
}

async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

function gitBlobOid(body: Buffer): string {
  return createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
}

async function describeFile(absPath: string, path: string): Promise<FileEntry> {
  const { sha256, size } = await hashFile(absPath);
  if (LFS_EXT.test(path) || size >= LFS_MIN_SIZE) {
    const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
    return { path, size, sha256, gitOid: gitBlobOid(pointer), lfs: { oid: sha256, size, pointerSize: pointer.length } };
  }
  return { path, size, sha256, gitOid: gitBlobOid(readFileSync(absPath)), lfs: null };
}

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const abs = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(abs, base)));
    else if (e.isFile()) out.push(relative(base, abs).split(sep).join('/'));
  }
  return out.sort();
}

/** The revision sha: sha1 over the sorted paths and their content hashes, so equal content gives an equal sha. */
export function contentSha(files: FileEntry[]): string {
  const h = createHash('sha1');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) h.update(`${f.path}\0${f.sha256}\n`);
  return h.digest('hex');
}

/** Model card metadata: the YAML front matter of README.md, or null. */
function cardDataOf(readme: string | null): Record<string, unknown> | null {
  const m = readme?.match(/^---\r?\n([\s\S]*?)\r?\n---\r?\n?/);
  if (!m) return null;
  try {
    const v: unknown = parseYaml(m[1]);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Reads and writes model repos under one root folder. Revisions are immutable once written. */
export class RepoStore {
  private readonly manifests = new Map<string, RevisionManifest>();
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  private repoDir(repo: string): string {
    assertRepoId(repo);
    return join(this.root, ...repo.split('/'));
  }

  /** Every repo id in the store. */
  listRepos(): string[] {
    const out: string[] = [];
    for (const org of readdirSync(this.root, { withFileTypes: true })) {
      if (!org.isDirectory()) continue;
      for (const name of readdirSync(join(this.root, org.name), { withFileTypes: true })) {
        if (name.isDirectory() && existsSync(join(this.root, org.name, name.name, 'repo.json')))
          out.push(`${org.name}/${name.name}`);
      }
    }
    return out.sort();
  }

  /** repo.json of a repo, or null when it does not exist (or the id is invalid). */
  getRepo(repo: string): RepoMeta | null {
    if (!isRepoId(repo)) return null;
    const p = join(this.repoDir(repo), 'repo.json');
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RepoMeta) : null;
  }

  private writeRepo(repo: string, meta: RepoMeta): void {
    const p = join(this.repoDir(repo), 'repo.json');
    writeFileSync(`${p}.tmp`, JSON.stringify(meta, null, 2));
    renameSync(`${p}.tmp`, p);
  }

  /** The manifest of one revision by exact sha, or null. */
  manifest(repo: string, sha: string): RevisionManifest | null {
    if (!/^[0-9a-f]{40}$/.test(sha)) return null;
    const key = `${repo}@${sha}`;
    const cached = this.manifests.get(key);
    if (cached) return cached;
    const p = join(this.repoDir(repo), 'revisions', `${sha}.manifest.json`);
    if (!existsSync(p)) return null;
    const m = JSON.parse(readFileSync(p, 'utf8')) as RevisionManifest;
    this.manifests.set(key, m);
    return m;
  }

  /** Resolves `main`, `HEAD`, `refs/heads/main` or a full sha to a revision; null when unknown. */
  resolve(repo: string, rev: string): { meta: RepoMeta; manifest: RevisionManifest } | null {
    const meta = this.getRepo(repo);
    if (!meta) return null;
    const sha = rev === 'main' || rev === 'HEAD' || rev === 'refs/heads/main' ? meta.refs.main : rev;
    const manifest = this.manifest(repo, sha);
    return manifest ? { meta, manifest } : null;
  }

  /** Absolute path of a file of a revision (the caller checked it is in the manifest). */
  filePath(repo: string, sha: string, path: string): string {
    return join(this.repoDir(repo), 'revisions', sha, ...path.split('/'));
  }

  /**
   * Copies the files of `fromDir` into a new revision and moves main to it. Content equal to the current head
   * changes nothing. `isPrivate` only applies when the repo is created. Throws on an invalid repo id or an I/O error.
   */
  async publish(
    repo: string,
    fromDir: string,
    opts: {
      private?: boolean;
      message?: string;
      cardData?: Record<string, unknown>;
      /** Per path, the Hub security scan status its listing reports (huggingface.co's `securityFileStatus`). */
      security?: Record<string, Record<string, unknown>>;
    } = {},
  ): Promise<PublishResult> {
    const revDir = join(this.repoDir(repo), 'revisions');
    const tmp = join(revDir, `.tmp-${randomBytes(6).toString('hex')}`);
    const files: FileEntry[] = [];
    try {
      for (const path of await walk(fromDir)) {
        const dest = join(tmp, ...path.split('/'));
        mkdirSync(dirname(dest), { recursive: true });
        await copyFile(join(fromDir, ...path.split('/')), dest);
        const entry = await describeFile(dest, path);
        const security = opts.security?.[path];
        files.push(security ? { ...entry, security } : entry);
      }
      const sha = contentSha(files);
      if (existsSync(join(revDir, sha))) rmSync(tmp, { recursive: true, force: true });
      else renameSync(tmp, join(revDir, sha));
      return this.commit(repo, sha, files, opts);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  private commit(
    repo: string,
    sha: string,
    files: FileEntry[],
    opts: { private?: boolean; message?: string; cardData?: Record<string, unknown> },
  ): PublishResult {
    const now = new Date().toISOString();
    const old = this.getRepo(repo);
    const oldSha = old?.refs.main ?? null;
    if (old && oldSha === sha) return { sha, oldSha: sha, created: false, changed: false, meta: old };
    const readme = files.some((f) => f.path === 'README.md')
      ? readFileSync(this.filePath(repo, sha, 'README.md'), 'utf8')
      : null;
    const cardData = opts.cardData ?? cardDataOf(readme);
    const message = opts.message ?? (old ? 'Upload folder' : 'initial commit');
    const manifestPath = join(this.repoDir(repo), 'revisions', `${sha}.manifest.json`);
    if (!existsSync(manifestPath)) {
      const manifest: RevisionManifest = { sha, createdAt: now, message, cardData, files };
      writeFileSync(manifestPath, JSON.stringify(manifest));
    }
    const meta: RepoMeta = old ?? {
      private: opts.private ?? false,
      createdAt: now,
      lastModified: now,
      revisions: [],
      refs: { main: sha },
    };
    if (!meta.revisions.some((r) => r.sha === sha)) meta.revisions.push({ sha, createdAt: now, message });
    meta.refs = { main: sha };
    meta.lastModified = now;
    if (cardData) meta.cardData = cardData;
    else delete meta.cardData;
    this.writeRepo(repo, meta);
    return { sha, oldSha, created: !old, changed: true, meta };
  }

  /** Sets a repo's visibility; returns whether it changed. Throws if the repo does not exist. */
  setPrivate(repo: string, isPrivate: boolean): { changed: boolean; meta: RepoMeta } {
    const meta = this.getRepo(repo);
    if (!meta) throw new Error(`no repo ${repo}`);
    if (meta.private === isPrivate) return { changed: false, meta };
    meta.private = isPrivate;
    meta.lastModified = new Date().toISOString();
    this.writeRepo(repo, meta);
    return { changed: true, meta };
  }
}
