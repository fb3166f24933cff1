/**
 * A local Hugging Face Hub mirror: serves a folder of model repos in the Hub's API shape so @huggingface/hub works
 * against it unchanged (pass `hubUrl`), publishes new revisions and sends the Hub's webhooks.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultPlan, FaultRule } from './faults.ts';
import { faultPlan, isBodyFault } from './faults.ts';
import type { ReqCtx } from './http-util.ts';
import { sendError } from './http-util.ts';
import { route } from './routes.ts';
import { RepoStore } from './store.ts';
import type { WebhookPayload, WebhookTarget } from './webhook.ts';
import { configUpdatePayload, contentUpdatePayload, createPayload, sendWebhook, webhookRepo } from './webhook.ts';

/** Options for {@link startHubMirror}. */
export interface HubMirrorOptions {
  root: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  webhook?: WebhookTarget;
  /** Entries per page of tree and model listings (the Hub uses 1000; tests use a small one to exercise `Link`). */
  pageSize?: number;
  /** Answers a request with an error instead of serving it when it returns one (tests of retries and failures). */
  fault?: (req: { method: string; path: string }) => { status: number; headers?: Record<string, string> } | null;
  /**
   * Injected Hub faults (faults.ts): 429/5xx, slow headers, trickled bodies, short or wrong ranges, a file that
   * changes between requests, a connection cut mid-body; per path, for the first N requests or a fraction.
   */
  faults?: FaultRule[] | FaultPlan;
}

/** One served request, as recorded in {@link HubMirror.stats}. */
export interface RequestRecord {
  method: string;
  path: string;
  range?: string;
  status: number;
  bytes: number;
}

/** Options of a publish. `private` only applies when the repo is created. */
export interface PublishOptions {
  private?: boolean;
  message?: string;
  cardData?: Record<string, unknown>;
  /** Per path, the Hub security scan status (`securityFileStatus`) expanded tree listings report for the file. */
  security?: Record<string, Record<string, unknown>>;
}

/** A running mirror. */
export interface HubMirror {
  /** `http://host:port`, to pass as `hubUrl`. */
  url: string;
  store: RepoStore;
  /** Copies a folder's files into a new revision on main (creating the repo if needed) and sends the webhook. */
  publish(repo: string, fromDir: string, opts?: PublishOptions): Promise<{ sha: string; webhookStatus: number | null }>;
  /** Changes visibility; going public sends a `repo.config` webhook. Throws if the repo does not exist. */
  setPrivate(repo: string, isPrivate: boolean): Promise<{ webhookStatus: number | null }>;
  stats: { requests: RequestRecord[]; bytesServed: number };
  /** How many requests each fault rule was applied to (empty without `faults`). */
  faultsApplied(): number[];
  resetStats(): void;
  close(): Promise<void>;
}

/**
 * Starts the mirror on `host:port` (127.0.0.1 and an ephemeral port by default) over the repos under `root`.
 * Rejects if the port cannot be bound.
 */
export async function startHubMirror(opts: HubMirrorOptions): Promise<HubMirror> {
  const store = new RepoStore(opts.root);
  const stats = { requests: [] as RequestRecord[], bytesServed: 0 };
  const deps = { store, pageSize: opts.pageSize ?? 1000 };
  const plan = !opts.faults ? null : Array.isArray(opts.faults) ? faultPlan(opts.faults) : opts.faults;
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host ?? 'localhost'}`;
    const ctx: ReqCtx = { req, res, url: new URL(req.url ?? '/', origin), origin, bytes: 0 };
    res.on('close', () => {
      const range = req.headers.range;
      stats.requests.push({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        ...(range ? { range } : {}),
        status: res.statusCode,
        bytes: ctx.bytes,
      });
      stats.bytesServed += ctx.bytes;
    });
    const fault = opts.fault?.({ method: req.method ?? 'GET', path: ctx.url.pathname });
    if (fault) {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(JSON.stringify({ error: `injected ${fault.status}` }));
      return;
    }
    const method = req.method ?? 'GET';
    const injected = plan?.pick({ method, path: ctx.url.pathname, ranged: req.headers.range !== undefined }) ?? null;
    if (injected?.kind === 'status') {
      const retryAfter: Record<string, string> =
        injected.retryAfter === undefined ? {} : { 'retry-after': String(injected.retryAfter) };
      sendError(ctx, injected.status, null, `injected ${injected.status}`, { ...retryAfter, ...injected.headers });
      return;
    }
    if (injected && isBodyFault(injected)) ctx.fault = injected;
    const serve = (): void => {
      route(ctx, deps).catch((e: Error) => {
        if (!res.headersSent) sendError(ctx, 500, null, e.message);
        else res.destroy(e);
      });
    };
    if (injected?.kind === 'slow-headers') {
      const t = setTimeout(serve, injected.delayMs);
      res.once('close', () => clearTimeout(t));
    } else serve();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
  const deliver = (payload: WebhookPayload): Promise<number | null> =>
    opts.webhook ? sendWebhook(opts.webhook, payload) : Promise.resolve(null);
  // Publishes are serialised so two concurrent publishes of one repo cannot both see the same old head.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };

  return {
    url,
    store,
    stats,
    publish: (repo, fromDir, po = {}) =>
      serial(async () => {
        const r = await store.publish(repo, fromDir, po);
        if (!r.changed || r.meta.private) return { sha: r.sha, webhookStatus: null };
        const wr = webhookRepo(url, repo, false, r.sha);
        const payload = r.created ? createPayload(wr) : contentUpdatePayload(wr, r.oldSha, r.sha);
        return { sha: r.sha, webhookStatus: await deliver(payload) };
      }),
    setPrivate: (repo, isPrivate) =>
      serial(async () => {
        const { changed, meta } = store.setPrivate(repo, isPrivate);
        if (!changed || isPrivate) return { webhookStatus: null };
        return {
          webhookStatus: await deliver(configUpdatePayload(webhookRepo(url, repo, false, meta.refs.main), false)),
        };
      }),
    faultsApplied: () => plan?.applied() ?? [],
    resetStats() {
      stats.requests.length = 0;
      stats.bytesServed = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
