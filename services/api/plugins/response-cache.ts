import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onSendHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { startChangeFeed } from '../../../lib/change-feed.ts';
import type { ChangeFeed, ChangeFeedOptions } from '../../../lib/change-feed.ts';
import { weakEtag } from './etag.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answers of this GET route may be served from the response cache (their body depends on the URL and auth only). */
    cache?: boolean;
  }
  interface FastifyInstance {
    /** The response cache of the read routes; null when HUBWATCH_API_CACHE_MB is 0. */
    responseCache: ResponseCache | null;
  }
}

interface Entry {
  storedAt: number;
  body: string;
  etag: string;
  type: string;
  cacheControl: string | undefined;
  bytes: number;
}

/**
 * Rendered answers of the read routes, by URL and whether the request was authenticated, valid for one generation of
 * the change feed and at most `ttlMs`. A miss takes the generation before the route reads anything and stores its
 * answer only if the generation is unchanged when the answer is ready: an answer that may have read data older than
 * a change notified meanwhile is never stored, and one stored just before a change's notification arrives is
 * dropped with it. While the feed is not listening (Postgres down, the connection lost) nothing is stored or served.
 * Least recently used entries go first when the bytes exceed `maxBytes`.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private generation: number;
  hits = 0;
  misses = 0;

  constructor(
    readonly feed: ChangeFeed,
    private readonly maxBytes: number,
    private readonly ttlMs: number,
  ) {
    this.generation = feed.generation;
  }

  /** Entries of an older generation are dropped all at once. */
  private sync(): boolean {
    if (this.generation !== this.feed.generation) {
      this.entries.clear();
      this.bytes = 0;
      this.generation = this.feed.generation;
    }
    return this.feed.listening;
  }

  get(key: string): Entry | undefined {
    if (!this.sync()) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (performance.now() - e.storedAt > this.ttlMs) {
      this.bytes -= e.bytes;
      return undefined;
    }
    this.entries.set(key, e);
    return e;
  }

  /** The generation a miss starts with; pass it to put(). */
  ticket(): number {
    return this.feed.generation;
  }

  put(key: string, ticket: number, e: Omit<Entry, 'storedAt' | 'bytes'>): boolean {
    if (!this.sync() || ticket !== this.generation) return false;
    // One byte per character: V8 keeps a string of Latin-1 characters (nearly every answer) that way; one with other
    // characters takes twice that.
    const bytes = e.body.length + key.length + 256;
    if (bytes > this.maxBytes / 8) return false;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, { ...e, storedAt: performance.now(), bytes });
    this.bytes += bytes;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.bytes;
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

const TICKET = Symbol('response-cache ticket');
type Ticketed = FastifyRequest & { [TICKET]?: { key: string; ticket: number } };

/**
 * Serves the GET routes marked `config: { cache: true }` from a ResponseCache fed by Postgres change notifications
 * (lib/change-feed.ts). `X-Cache: hit|miss` says which. A successful write through this process (any other method
 * answered below 400) starts a new generation at once, so its client reads its own write even before the
 * notification arrives. The hooks go on the routes that need them (onRoute), so register this before the routes.
 * A hit carries its stored ETag, which the ETag plugin compares with If-None-Match (304).
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

  const lookup = async (req: Ticketed, reply: FastifyReply): Promise<FastifyReply | undefined> => {
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
    req[TICKET] = { key, ticket: cache.ticket() };
    return undefined;
  };
  const store: onSendHookHandler = (req: Ticketed, reply, payload, done) => {
    const t = req[TICKET];
    if (t && reply.statusCode === 200 && typeof payload === 'string') {
      // The ETag plugin's onSend (app-wide, so before this route-level one) has tagged the body already.
      const tagged = reply.getHeader('etag');
      const etag = typeof tagged === 'string' ? tagged : weakEtag(payload);
      const cc = reply.getHeader('cache-control');
      cache.put(t.key, t.ticket, {
        body: payload,
        etag,
        type: String(reply.getHeader('content-type') ?? 'application/octet-stream'),
        cacheControl: typeof cc === 'string' ? cc : undefined,
      });
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
    if (r.config?.cache === true && methods.includes('GET')) {
      r.preHandler = [...list(r.preHandler), lookup as preHandlerAsyncHookHandler];
      r.onSend = [...list(r.onSend), store];
    } else if (methods.some((m) => !READS.has(m))) r.onSend = [...list(r.onSend), written];
  });
}
