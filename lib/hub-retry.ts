/**
 * Retries of Hub requests that can succeed when asked again: 429 (rate limited) and 5xx (the Hub or its CDN
 * failing for a moment), honouring `Retry-After`. 4xx answers such as 401, 403 and 404 are returned at once:
 * asking again cannot change them.
 */
export interface RetryOptions {
  /** Further attempts after the first (default 4). */
  retries?: number;
  /** First backoff when the answer has no `Retry-After`; doubled each time (default 500 ms). */
  baseDelayMs?: number;
  /** Longest wait; a `Retry-After` beyond it ends the retries and the answer is returned (default 60 s). */
  maxDelayMs?: number;
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

function sleepFor(ms: number, signal?: AbortSignal | null): Promise<void> {
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

/** A fetch that retries GET and HEAD requests answered 429 or 5xx (see {@link RetryOptions}). */
export function withHubRetries(inner: typeof fetch, o: RetryOptions = {}): typeof fetch {
  const retries = o.retries ?? 4;
  const base = o.baseDelayMs ?? 500;
  const max = o.maxDelayMs ?? 60_000;
  const sleep = o.sleep ?? sleepFor;
  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    for (let attempt = 0; ; attempt++) {
      const res = await inner(input, init);
      if (attempt >= retries || !isRetryableStatus(res.status) || (method !== 'GET' && method !== 'HEAD')) return res;
      const asked = retryAfterMs(res.headers.get('retry-after'));
      if (asked !== null && asked > max) return res;
      const wait = asked ?? Math.min(max, base * 2 ** attempt);
      await res.body?.cancel().catch(() => undefined);
      await sleep(wait, init?.signal);
    }
  };
}
