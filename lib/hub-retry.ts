import { BufferedResponse } from './buffered-response.ts';

/**
 * Retries of Hub requests that can succeed when asked again: 429 (rate limited) and 5xx (the Hub or its CDN
 * failing for a moment), honouring `Retry-After` (RFC 9110 §10.2.3), and connections that failed or timed out.
 * 4xx answers such as 401, 403 and 404 are returned at once: asking again cannot change them. Every request is
 * bounded: each attempt by `attemptTimeoutMs` (headers and body), all attempts and waits together by `totalMs`.
 */
export interface RetryOptions {
  /** Further attempts after the first (default 4). */
  retries?: number;
  /** First backoff when the answer has no `Retry-After`; doubled each time (default 500 ms). */
  baseDelayMs?: number;
  /** Longest wait; a `Retry-After` beyond it ends the retries and the answer is returned (default 60 s). */
  maxDelayMs?: number;
  /**
   * Milliseconds one attempt may take, headers and body together (default 120 s): a server that answers late or
   * trickles its body is abandoned and asked again. 0 turns the limit off.
   */
  attemptTimeoutMs?: number;
  /** Milliseconds all attempts and waits of one request may take (default 300 s): no retry starts past it. */
  totalMs?: number;
  /** Waits `ms` (tests observe the waits instead of the clock); rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal | null) => Promise<void>;
}

/** Whether an HTTP status is worth a retry. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

/** Milliseconds a `Retry-After` header asks for (delta-seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function sleepFor(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The defaults of {@link RetryOptions}, filled in. */
export function retryPolicy(o: RetryOptions = {}): Required<RetryOptions> {
  return {
    retries: o.retries ?? 4,
    baseDelayMs: o.baseDelayMs ?? 500,
    maxDelayMs: o.maxDelayMs ?? 60_000,
    attemptTimeoutMs: o.attemptTimeoutMs ?? 120_000,
    totalMs: o.totalMs ?? 300_000,
    sleep: o.sleep ?? sleepFor,
  };
}

/**
 * An abort signal that fires after `ms` with a TimeoutError (as AbortSignal.timeout does) but can be disarmed, so
 * a request whose body is already read holds no timer.
 */
function deadline(ms: number): { signal: AbortSignal; disarm(): void } {
  const c = new AbortController();
  const t = setTimeout(() => c.abort(new DOMException(`no complete answer within ${ms} ms`, 'TimeoutError')), ms);
  t.unref();
  return { signal: c.signal, disarm: () => clearTimeout(t) };
}

/** A Hub request that failed without an answer on every attempt (connection refused, cut, or too slow). */
export class HubFetchError extends Error {
  override name = 'HubFetchError';
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Whether an error thrown by fetch or by reading its body is a connection that broke or timed out (worth asking
 * again), as opposed to an answer that was wrong: undici's `fetch failed` and `terminated` (body cut), socket
 * error codes, range-fetch.ts's `connection closed after …`, and a timeout signal's TimeoutError.
 */
export function isNetworkError(e: unknown): boolean {
  for (
    let x = e as { name?: string; message?: string; code?: string; cause?: unknown } | null, depth = 0;
    x && depth < 4;
    depth++
  ) {
    if (x.name === 'TimeoutError' || NETWORK_CODES.has(x.code ?? '')) return true;
    if (x.name === 'TypeError' && (x.message === 'fetch failed' || x.message === 'terminated')) return true;
    if (/^connection closed after \d+ of \d+ body bytes/.test(x.message ?? '')) return true;
    x = x.cause as typeof x;
  }
  return false;
}

/** `METHOD /path` of a request, for error messages (no query: it never carries what matters here). */
function requestName(input: string | URL | Request, method: string): string {
  const url = input instanceof Request ? input.url : String(input);
  try {
    return `${method} ${new URL(url).pathname}`;
  } catch {
    return `${method} ${url}`;
  }
}

/** What a failed attempt was, in words. */
function why(e: unknown, timeout: AbortSignal | null, ms: number): string {
  if (timeout?.aborted) return `no complete answer within ${ms} ms`;
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}

/**
 * A fetch that retries GET and HEAD requests answered 429 or 5xx, or whose connection failed or timed out, with
 * exponential backoff (see {@link RetryOptions}). A request still failing is answered with its last status, or
 * rejected with a HubFetchError naming the request and the failure.
 */
export function withHubRetries(inner: typeof fetch, o: RetryOptions = {}): typeof fetch {
  const p = retryPolicy(o);
  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const idempotent = method === 'GET' || method === 'HEAD';
    const started = Date.now();
    // Time spent: the clock, or the waits asked for when they were shorter in fact (a test's sleep records them).
    let waited = 0;
    /** The wait before the next attempt, or null when there is none (out of attempts or of time). */
    const next = (attempt: number, asked: number | null): number | null => {
      if (!idempotent || attempt >= p.retries) return null;
      if (asked !== null && asked > p.maxDelayMs) return null;
      const wait = asked ?? Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** attempt);
      if (Math.max(Date.now() - started, waited) + wait > p.totalMs) return null;
      waited += wait;
      return wait;
    };
    for (let attempt = 0; ; attempt++) {
      const limit = p.attemptTimeoutMs > 0 ? deadline(p.attemptTimeoutMs) : null;
      const timeout = limit?.signal ?? null;
      const caller = init?.signal ?? null;
      const signal = timeout && caller ? AbortSignal.any([caller, timeout]) : (timeout ?? caller);
      let res: Response;
      try {
        res = await inner(input, { ...init, signal });
      } catch (e) {
        limit?.disarm();
        if (caller?.aborted || !(isNetworkError(e) || timeout?.aborted)) throw e;
        const wait = next(attempt, null);
        if (wait === null) {
          const n = attempt + 1;
          throw new HubFetchError(
            `${requestName(input, method)}: ${why(e, timeout, p.attemptTimeoutMs)} (${n} attempt${n > 1 ? 's' : ''})`,
            n,
            { cause: e },
          );
        }
        await p.sleep(wait, caller);
        continue;
      }
      // A body already in memory (range-fetch.ts) needs no limit any more; a streamed one keeps it while it is read.
      if (res instanceof BufferedResponse) limit?.disarm();
      if (!isRetryableStatus(res.status)) return res;
      const wait = next(attempt, retryAfterMs(res.headers.get('retry-after')));
      if (wait === null) return res;
      limit?.disarm();
      await res.body?.cancel().catch(() => undefined);
      await p.sleep(wait, caller);
    }
  };
}
