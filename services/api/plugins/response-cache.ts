import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onSendHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { NOTIFYING_TABLES, startChangeFeed } from '../../../lib/change-feed.ts';
import type { ChangeFeed, ChangeFeedOptions, NotifyingTable } from '../../../lib/change-feed.ts';
import { weakEtag } from './etag.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Answers of this GET route may be served from the response cache (their body depends on the URL and auth only):
     * `true` drops them on a change to any table, `{ reads }` only on a change to one of the tables its queries read
     * (views resolved to their tables; test/response-cache.test.ts checks each such list against the query plans).
     */
    cache?: boolean | { reads: readonly NotifyingTable[] };
  }
  interface FastifyInstance {
    /** The response cache of the read routes; null when HUBWATCH_API_CACHE_MB is 0. */
    responseCache: ResponseCache | null;
  }
}

interface Entry {
  storedAt: number;
  /** The tables its route reads (null: all) and their version when the answer's reads began. */
  tables: readonly NotifyingTable[] | null;
  version: number;
  body: string;
  etag: string;
  type: string;
  cacheControl: string | undefined;
  bytes: number;
}

/**
 * Rendered answers of the read routes, by URL and whether the request was authenticated, valid while the tables
 * their route reads are unchanged (the change feed's version of those tables; every table when the route names none)
 * and at most `ttlMs`. A miss takes the version before the route reads anything and stores its answer only if the
 * version is unchanged when the answer is ready: an answer that may have read data older than a change notified
 * meanwhile is never stored, and one stored just before a change's notification arrives is not served after it.
 * Whatever changes every table (a write through this process, a new listening connection) drops every entry at
 * once; an entry outdated by one table's change goes when it is next asked for, or as the least recently used.
 * While the feed is not listening (Postgres down, the connection lost) nothing is stored or served.
 * Least recently used entries go first when the bytes exceed `maxBytes`.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  /** The version of no table: it moves only with what changes all of them. */
  private everything: number;
  hits = 0;
  misses = 0;
  /** The cached routes (URL pattern) and the tables each reads; null: every table. */
  readonly routes = new Map<string, readonly NotifyingTable[] | null>();

  constructor(
    readonly feed: ChangeFeed,
    private readonly maxBytes: number,
    private readonly ttlMs: number,
  ) {
    this.everything = feed.versionOf([]);
  }

  private version(tables: readonly NotifyingTable[] | null): number {
    return tables === null ? this.feed.generation : this.feed.versionOf(tables);
  }

  /** Entries are dropped all at once when every table may have changed. */
  private sync(): boolean {
    const now = this.feed.versionOf([]);
    if (this.everything !== now) {
      this.entries.clear();
      this.bytes = 0;
      this.everything = now;
    }
    return this.feed.listening;
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }

  get(key: string): Entry | undefined {
    if (!this.sync()) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (performance.now() - e.storedAt > this.ttlMs || e.version !== this.version(e.tables)) {
      this.drop(key, e);
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e;
  }

  /** The version a miss of a route reading `tables` (null: all) starts with; pass both to put(). */
  ticket(tables: readonly NotifyingTable[] | null = null): number {
    return this.version(tables);
  }

  put(
    key: string,
    ticket: number,
    e: Omit<Entry, 'storedAt' | 'bytes' | 'tables' | 'version'>,
    tables: readonly NotifyingTable[] | null = null,
  ): boolean {
    if (!this.sync() || ticket !== this.version(tables)) return false;
    // One byte per character: V8 keeps a string of Latin-1 characters (nearly every answer) that way; one with other
    // characters takes twice that.
    const bytes = e.body.length + key.length + 256;
    if (bytes > this.maxBytes / 8) return false;
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.entries.set(key, { ...e, storedAt: performance.now(), bytes, tables, version: ticket });
    this.bytes += bytes;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(k, v);
    }
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  get byteCount(): number {
    return this.bytes;
  }
}

/**
 * What the model, findings, index, badge and feed routes read: models, releases, findings (the current_findings
 * view) and mutes, never check runs, snapshots or evidence, so the check-run updates of releases being checked leave
 * their cached answers in place. The release routes read every table (`cache: true`).
 */
export const MODEL_AND_FINDING_TABLES: readonly NotifyingTable[] = ['models', 'releases', 'findings', 'mutes'];

const TICKET = Symbol('response-cache ticket');
type Ticketed = FastifyRequest & {
  [TICKET]?: { key: string; ticket: number; tables: readonly NotifyingTable[] | null };
};

/** The tables a route's cached answers depend on (null: all), from its `config.cache`. */
function tablesOf(cache: boolean | { reads: readonly NotifyingTable[] } | undefined): readonly NotifyingTable[] | null {
  if (typeof cache !== 'object') return null;
  for (const t of cache.reads)
    if (!NOTIFYING_TABLES.includes(t))
      throw new Error(`config.cache.reads: ${t} is not a table whose changes are notified`);
  return cache.reads;
}

/**
 * Serves the GET routes marked `config: { cache: true }` (or `{ cache: { reads: [...] } }`) from a ResponseCache fed
 * by Postgres change notifications (lib/change-feed.ts). `X-Cache: hit|miss` says which. A successful write through
 * this process (any other method answered below 400) counts as a change of every table at once, so its client reads
 * its own write even before the notification arrives. The hooks go on the routes that need them (onRoute), so
 * register this before the routes. A hit carries its stored ETag, which the ETag plugin compares with If-None-Match
 * (304).
 */
export async function registerResponseCache(app: FastifyInstance, feedOptions?: ChangeFeedOptions): Promise<void> {
  const { cfg, log } = app.deps;
  if (cfg.apiCacheMb <= 0) {
    app.decorate('responseCache', null);
    return;
  }
  const feed = startChangeFeed(cfg.databaseUrl, log.child({ component: 'change-feed' }), feedOptions);
  const cache = new ResponseCache(feed, cfg.apiCacheMb * 1024 * 1024, cfg.apiCacheTtlMs);
  app.decorate('responseCache', cache);
  app.addHook('onReady', async () => {
    // Serving without the cache is correct, only slower: do not hold the start up for long.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([feed.ready(), new Promise<void>((r) => (timer = setTimeout(r, 3000)))]);
    clearTimeout(timer);
  });
  app.addHook('onClose', async () => {
    await feed.close();
  });

  /** The preHandler of a cached route whose answers depend on `tables` (null: all). */
  const lookupFor =
    (tables: readonly NotifyingTable[] | null) =>
    async (req: Ticketed, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      if (req.method !== 'GET') return undefined;
      // authenticated() throws 401 for a wrong token, before anything is looked up.
      const key = `${req.authenticated() ? 'a' : 'p'} ${req.url}`;
      const e = cache.get(key);
      if (e) {
        cache.hits++;
        reply.header('x-cache', 'hit').header('etag', e.etag).type(e.type);
        if (e.cacheControl) reply.header('cache-control', e.cacheControl);
        return reply.send(e.body);
      }
      cache.misses++;
      reply.header('x-cache', 'miss');
      req[TICKET] = { key, ticket: cache.ticket(tables), tables };
      return undefined;
    };
  const store: onSendHookHandler = (req: Ticketed, reply, payload, done) => {
    const t = req[TICKET];
    if (t && reply.statusCode === 200 && typeof payload === 'string') {
      // The ETag plugin's onSend (app-wide, so before this route-level one) has tagged the body already.
      const tagged = reply.getHeader('etag');
      const etag = typeof tagged === 'string' ? tagged : weakEtag(payload);
      const cc = reply.getHeader('cache-control');
      cache.put(
        t.key,
        t.ticket,
        {
          body: payload,
          etag,
          type: String(reply.getHeader('content-type') ?? 'application/octet-stream'),
          cacheControl: typeof cc === 'string' ? cc : undefined,
        },
        t.tables,
      );
    }
    done(null, payload);
  };
  const written: onSendHookHandler = (_req, reply, payload, done) => {
    if (reply.statusCode < 400) feed.bump();
    done(null, payload);
  };
  // Hooks only on the routes that need them: the webhook and every other route pay nothing for the cache but a
  // counter increment per successful write.
  const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
  const list = <T>(h: T | T[] | undefined): T[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);
  app.addHook('onRoute', (r) => {
    const methods = ([] as string[]).concat(r.method);
    if (r.config?.cache && methods.includes('GET')) {
      // A table misnamed fails at start-up.
      const tables = tablesOf(r.config.cache);
      cache.routes.set(r.url, tables);
      r.preHandler = [...list(r.preHandler), lookupFor(tables) as preHandlerAsyncHookHandler];
      r.onSend = [...list(r.onSend), store];
    } else if (methods.some((m) => !READS.has(m))) r.onSend = [...list(r.onSend), written];
  });
}
