/**
 * The only importer of @huggingface/hub. Every call passes `hubUrl` (the library has no global setting)
 * so the same code talks to huggingface.co in production and to infra/hub-mirror in tests.
 */
import { downloadFile, HubApiError, listCommits, listFiles, listModels, modelInfo } from '@huggingface/hub';
import type { HubSecurityStatus } from '../checks/files/hub-security.ts';
import { hubSecurityOf } from '../checks/files/hub-security.ts';
import type { ByteSource, SourceFile } from './byte-source.ts';
import { SourceError } from './byte-source.ts';
import { delivered } from './buffered-response.ts';
import { isSafeRepoPath } from './repo-path.ts';
import type { Config } from './config.ts';
import type { RetryOptions } from './hub-retry.ts';
import { HubFetchError, isNetworkError, retryPolicy, withHubRetries } from './hub-retry.ts';

export interface HubOptions {
  hubUrl: string;
  accessToken?: string;
  fetch?: typeof fetch;
  /** How 429 and 5xx answers, failed connections and slow answers are retried and bounded (hub-retry.ts). */
  retry?: RetryOptions;
}

/**
 * The Hub options of a process, built here only: the configured `hubUrl` and token, and a `fetch` when the
 * caller brings its own (the keep-alive range fetch of the runner and the CLI).
 */
export function hubOptions(cfg: Pick<Config, 'hubUrl' | 'hfToken'>, fetchImpl?: typeof fetch): HubOptions {
  return {
    hubUrl: cfg.hubUrl,
    ...(cfg.hfToken ? { accessToken: cfg.hfToken } : {}),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  };
}

function creds(
  o: HubOptions,
  guard?: (f: typeof fetch) => typeof fetch,
): { hubUrl: string; accessToken?: string; fetch: typeof fetch } {
  const inner = o.fetch ?? ((input, init) => fetch(input, init));
  const retrying = withHubRetries(inner, o.retry);
  return {
    hubUrl: o.hubUrl,
    ...(o.accessToken ? { accessToken: o.accessToken } : {}),
    fetch: guard ? guard(retrying) : retrying,
  };
}

/** A file that answered with another ETag than before: its content changed under us. Never retried. */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
}

/** An answer with other bytes than the range asked for (a wrong Content-Range, a short body). Asked again once. */
export class RangeMismatchError extends Error {
  override name = 'RangeMismatchError';
}

/**
 * Wraps a source's fetch so every answer for one file is checked against what came before: the same ETag as the
 * first answer (a revision is immutable; another ETag means other bytes, which are never mixed with the first),
 * and, for a `Range: bytes=a-b` request, a 206 whose Content-Range starts at `a` and ends by `b` (a 200 to a range
 * not starting at 0 is a server that ignored the Range and sent the whole file).
 */
function consistencyGuard(etags: Map<string, string>): (f: typeof fetch) => typeof fetch {
  return (f) => async (input, init) => {
    const res = await f(input, init);
    if (!res.ok) return res;
    const url = new URL(input instanceof Request ? input.url : String(input));
    const linked = res.headers.get('x-linked-etag');
    const etag = linked ?? res.headers.get('etag');
    // Compared like with like: per requested URL (a file's resolve URL, or the CDN URL the library moves to), per
    // origin that finally answered (the Hub redirects file reads to a CDN whose ETag is its own) and per header. The
    // Xet file-info answer to @huggingface/hub's size probe describes the file, not these bytes: not compared.
    let answeredBy = '';
    try {
      answeredBy = res.url ? new URL(res.url).origin : '';
    } catch {
      answeredBy = '';
    }
    const key = `${url.href} ${answeredBy} ${linked ? 'x-linked-etag' : 'etag'}`;
    const xetInfo = res.headers.get('content-type')?.includes('application/vnd.xet-fileinfo+json') ?? false;
    const fail = async (e: Error): Promise<never> => {
      await res.body?.cancel().catch(() => undefined);
      throw e;
    };
    if (etag && !xetInfo && !url.pathname.startsWith('/api/')) {
      const first = etags.get(key);
      if (first === undefined) etags.set(key, etag);
      else if (first !== etag)
        await fail(new FileChangedError(`the file changed while being read (ETag ${first}, then ${etag})`));
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(new Headers(init?.headers).get('range')?.trim() ?? '');
    if (range && res.status === 200 && Number(range[1]) > 0)
      await fail(new RangeMismatchError(`asked for ${range[0]}, the server sent the whole file (200)`));
    if (range && res.status === 206) {
      const cr = res.headers.get('content-range');
      const got = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr?.trim() ?? '');
      if (!got || got[1] !== range[1] || (range[2] !== '' && Number(got[2]) > Number(range[2])))
        await fail(new RangeMismatchError(`asked for ${range[0]}, answered Content-Range ${JSON.stringify(cr)}`));
    }
    return res;
  };
}

/** How a failed read of a file is treated: given up (changed, exhausted, an HTTP status), asked again, or once. */
function readFailure(e: unknown): 'final' | 'again' | 'once' {
  if (e instanceof FileChangedError || e instanceof HubFetchError || statusOf(e) !== undefined) return 'final';
  if (e instanceof RangeMismatchError || /^asked for bytes=/.test((e as Error)?.message ?? '')) return 'once';
  return isNetworkError(e) ? 'again' : 'final';
}

/** The HTTP status of a failed Hub call (HubApiError keeps it), so callers can tell 404 from 503. */
function statusOf(e: unknown): number | undefined {
  if (e instanceof HubApiError) return e.statusCode;
  if (e instanceof SourceError) return e.status;
  const s = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** A SourceError for a failed Hub call, with the call's HTTP status when there was one. */
function hubError(message: string, e: unknown, path?: string): SourceError {
  return new SourceError(`${message}: ${(e as Error).message}`, path, statusOf(e));
}

export interface RevisionInfo {
  repo: string;
  sha: string;
  private: boolean;
  cardData: Record<string, unknown> | null;
}

/** Resolves a revision (branch, tag or sha) of a model repo to its commit sha and card metadata. */
export async function resolveRevision(o: HubOptions, repo: string, revision = 'main'): Promise<RevisionInfo> {
  try {
    const info = await modelInfo({ ...creds(o), name: repo, revision, additionalFields: ['sha', 'cardData'] });
    const sha = (info as { sha?: string }).sha;
    if (!sha) throw new SourceError(`hub returned no sha for ${repo}@${revision}`);
    const cardData = (info as { cardData?: unknown }).cardData;
    return {
      repo,
      sha,
      private: info.private,
      cardData: cardData && typeof cardData === 'object' ? (cardData as Record<string, unknown>) : null,
    };
  } catch (e) {
    if (e instanceof SourceError) throw e;
    throw hubError(`cannot resolve ${repo}@${revision}`, e);
  }
}

/**
 * The full sha of the commit on the repo's main history that starts with `prefix` (a short sha as `git log
 * --oneline` prints it), read from the Hub's commit list: the Hub resolves only full shas, branches and tags.
 * Throws a SourceError when no commit or more than one starts with it, or when the list cannot be read.
 */
export async function resolveShaPrefix(o: HubOptions, repo: string, prefix: string): Promise<string> {
  const wanted = prefix.toLowerCase();
  const matches: string[] = [];
  let seen = 0;
  try {
    for await (const c of listCommits({ ...creds(o), repo: { type: 'model', name: repo }, batchSize: 1000 })) {
      seen++;
      if (c.oid.startsWith(wanted)) matches.push(c.oid);
    }
  } catch (e) {
    throw hubError(`cannot list the commits of ${repo} to resolve ${prefix}`, e);
  }
  if (matches.length === 1) return matches[0];
  if (matches.length === 0)
    throw new SourceError(`no commit of ${repo} starts with ${prefix} (${seen} commits on main read)`, undefined, 404);
  throw new SourceError(
    `${prefix} is ambiguous in ${repo}: ${matches.map((m) => m.slice(0, 12)).join(', ')}; give more characters`,
  );
}

export interface ListedModel {
  repo: string;
  sha: string | null;
  lastModified: string | null;
}

/** Lists the most recently modified models of an author (the poller's view). */
export async function listAuthorModels(o: HubOptions, author: string, limit = 50): Promise<ListedModel[]> {
  const out: ListedModel[] = [];
  for await (const m of listModels({
    ...creds(o),
    search: { owner: author },
    sort: 'lastModified',
    limit,
    additionalFields: ['sha'],
  })) {
    const x = m as { name: string; sha?: string; lastModified?: string };
    out.push({ repo: x.name, sha: x.sha ?? null, lastModified: x.lastModified ?? null });
  }
  return out;
}

/** A byte source over one immutable revision (a commit sha) of a Hub model repo, read with Range requests. */
export class HubSource implements ByteSource {
  readonly label: string;
  private blobs = new Map<string, Promise<Blob>>();
  /** The first ETag each file answered with (see consistencyGuard). */
  private etags = new Map<string, string>();
  private readonly creds: ReturnType<typeof creds>;
  private hubSecurity = new Map<string, HubSecurityStatus>();
  /** Callers' memory for reads in flight (readRangeInto), by `path Range`; handed to the fetch as `into`. */
  private intos = new Map<string, Uint8Array>();
  constructor(
    private readonly o: HubOptions,
    readonly repo: string,
    readonly sha: string,
  ) {
    this.label = `${repo}@${sha}`;
    this.creds = creds(o, consistencyGuard(this.etags));
  }

  /** The Hub's own scan status of a file, when the listing carried one (after listFiles). */
  hubSecurityOf(path: string): HubSecurityStatus | undefined {
    return this.hubSecurity.get(path);
  }

  /**
   * Every file of the revision, with the Hub's own security scan status where the listing carries one
   * (`expand=true` adds `securityFileStatus` and `lastCommit` to each entry; see checks/files/hub-security.ts).
   */
  async listFiles(): Promise<(SourceFile & { hubSecurity?: HubSecurityStatus })[]> {
    const out: (SourceFile & { hubSecurity?: HubSecurityStatus })[] = [];
    try {
      for await (const f of listFiles({
        ...this.creds,
        repo: { type: 'model', name: this.repo },
        revision: this.sha,
        recursive: true,
        expand: true,
      })) {
        if (f.type !== 'file') continue;
        const security = hubSecurityOf((f as { securityFileStatus?: unknown }).securityFileStatus);
        if (security) this.hubSecurity.set(f.path, security);
        out.push({ path: f.path, size: f.lfs?.size ?? f.size, ...(security ? { hubSecurity: security } : {}) });
      }
    } catch (e) {
      throw hubError(`cannot list files of ${this.label}`, e);
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  private blob(path: string): Promise<Blob> {
    // Only paths inside this repo: the URL is built from the path, so `..` or a scheme could reach elsewhere.
    if (!isSafeRepoPath(path)) return Promise.reject(new SourceError(`invalid path ${JSON.stringify(path)}`, path));
    let b = this.blobs.get(path);
    if (!b) {
      // The blob keeps this fetch for all its slices: it knows the file, so a slice's request can carry the memory
      // a readRangeInto caller brought for it (range-fetch.ts reads the body straight into it).
      const inner = this.creds.fetch;
      const fetchForPath: typeof fetch = (input, init) => {
        const range = new Headers(init?.headers).get('range');
        const into = range === null ? undefined : this.intos.get(`${path} ${range}`);
        return inner(input, into ? ({ ...init, into } as RequestInit) : init);
      };
      b = downloadFile({
        ...this.creds,
        fetch: fetchForPath,
        repo: { type: 'model', name: this.repo },
        path,
        revision: this.sha,
        xet: false,
      }).then(
        (blob) => {
          // downloadFile answers null when the Hub said 404.
          if (!blob) throw new SourceError(`${path} not found in ${this.label}`, path, 404);
          return blob;
        },
        (e: unknown) => {
          throw hubError(`cannot open ${path} of ${this.label}`, e, path);
        },
      );
      b.catch(() => this.blobs.delete(path));
      this.blobs.set(path, b);
    }
    return b;
  }

  /**
   * Reads bytes [start, end) of a file: exactly that many bytes, of the version first seen, or a SourceError
   * naming the file and what went wrong. A connection cut or timed out mid-body is asked again with backoff
   * (hub-retry.ts bounds, and within `totalMs`), a short or wrong range once; a file whose ETag changed is refused.
   */
  async readRange(path: string, start: number, end: number): Promise<Uint8Array> {
    return this.read(path, start, end);
  }

  /**
   * Reads bytes [start, start + into.byteLength) into `into`, with readRange's guarantees. With the range fetch
   * (range-fetch.ts) the socket reads the body straight into `into` (for the runner: shared kernel memory, which
   * the compute workers read in place); any other fetch, or a second identical read in flight, is copied in.
   */
  async readRangeInto(path: string, start: number, into: Uint8Array): Promise<void> {
    const end = start + into.byteLength;
    const key = `${path} bytes=${start}-${end - 1}`;
    if (this.intos.has(key)) {
      into.set(await this.read(path, start, end));
      return;
    }
    this.intos.set(key, into);
    try {
      await this.read(path, start, end, into);
    } finally {
      this.intos.delete(key);
    }
  }

  private async read(path: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    const blob = await this.blob(path);
    if (!(start >= 0 && end >= start && end <= blob.size)) {
      throw new SourceError(`range ${start}-${end} outside ${path} (${blob.size} bytes)`, path);
    }
    if (end === start) return new Uint8Array(0);
    const p = retryPolicy(this.o.retry);
    const started = Date.now();
    let waited = 0;
    let rangeAgain = true;
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await blob.slice(start, end).arrayBuffer();
        if (into && delivered(body)) return into;
        const bytes = new Uint8Array(body);
        if (bytes.byteLength !== end - start)
          throw new RangeMismatchError(`asked for ${end - start} bytes at ${start}, got ${bytes.byteLength}`);
        if (!into) return bytes;
        into.set(bytes);
        return into;
      } catch (e) {
        const kind = readFailure(e);
        const wait = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** attempt);
        const inTime = Math.max(Date.now() - started, waited) + wait <= p.totalMs;
        if (kind === 'once' && rangeAgain) {
          rangeAgain = false;
          continue;
        }
        if (kind === 'again' && attempt < p.retries && inTime) {
          waited += wait;
          await p.sleep(wait);
          continue;
        }
        const what = e instanceof FileChangedError ? 'refused' : `failed after ${attempt + 1} attempt(s)`;
        const slow = (e as Error)?.name === 'TimeoutError';
        const cause = slow ? new Error(`no complete answer within ${p.attemptTimeoutMs} ms`) : e;
        throw hubError(`read of ${path} (bytes ${start}-${end - 1}) of ${this.label} ${what}`, cause, path);
      }
    }
  }

  async readText(path: string): Promise<string> {
    const blob = await this.blob(path);
    return new TextDecoder().decode(await this.readRange(path, 0, blob.size));
  }

  async *stream(path: string, start: number, end: number): AsyncIterable<Uint8Array> {
    const blob = await this.blob(path);
    if (!(start >= 0 && end >= start && end <= blob.size)) {
      throw new SourceError(`range ${start}-${end} outside ${path} (${blob.size} bytes)`, path);
    }
    if (end === start) return;
    const reader = blob.slice(start, end).stream().getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
}
