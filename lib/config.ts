/**
 * The one place that reads the environment. Every variable is documented in the README; loadConfig validates
 * them once and throws AppError('config_invalid') with every problem listed.
 */
import { AppError } from './errors.ts';
import { findHfToken } from './hf-token.ts';
import type { HfTokenSource } from './hf-token.ts';

export interface Config {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  hubUrl: string;
  /** The token sent to hubUrl (see lib/hf-token.ts for where it is found and when it is withheld). */
  hfToken: string | undefined;
  hfTokenSource: HfTokenSource | null;
  /**
   * CLI colour: `always` with FORCE_COLOR (not 0), `never` with NO_COLOR (https://no-color.org) or TERM=dumb,
   * else `auto` (on a TTY).
   */
  color: 'auto' | 'always' | 'never';
  /** COLUMNS: the wrap width of CLI output that does not go to a TTY (0: no wrapping). */
  columns: number;
  webhookSecret: string | undefined;
  apiToken: string | undefined;
  host: string;
  port: number;
  publicUrl: string;
  maxFileBytes: number;
  checkTimeoutMs: number;
  workerConcurrency: number;
  /**
   * BullMQ lock of release and check jobs (HUBWATCH_JOB_LOCK_MS); null: 30 s for release jobs, 120 s for check jobs.
   * A worker renews it every half period, so it only has to outlast the longest synchronous stretch of a job.
   */
  jobLockMs: number | null;
  /** Enqueues of one release or check job (the first and the reconciler's re-enqueues) before it is given up. */
  reconcileMaxAttempts: number;
  reconcileIntervalMs: number;
  /** Age of a pending release or an unfinished check run before the reconciler looks at its job. */
  reconcileGraceMs: number;
  watchAuthors: string[];
  pollIntervalMs: number;
  slackWebhookUrl: string | undefined;
  logLevel: string;
  /** Compute backend of the runner and the CLI: `cpu`, `torch` (a Python worker, CUDA when present) or `auto`. */
  computeBackend: 'cpu' | 'torch' | 'auto';
  /** Python for the torch backend (HUBWATCH_PYTHON); unset: the first python3 that imports torch. */
  python: string | undefined;
  /** Bytes read per tensor and side by the base-model fingerprint. */
  fingerprintSampleBytes: number;
  /** Decoder layers the fingerprint samples; null: first, middle and last. */
  fingerprintLayers: number[] | null;
  /** Fastify `trustProxy`: false unless HUBWATCH_TRUST_PROXY names the proxies (true, a hop count, or addresses/CIDRs). */
  trustProxy: boolean | number | string[];
  /** Requests per client address per window on the API and pages (0: no limit). */
  rateLimitMax: number;
  /** Deliveries per client address per window on the webhook (0: no limit). */
  webhookRateLimitMax: number;
  rateLimitWindowMs: number;
  /**
   * Memory for cached responses of the read API and pages, in MiB (0: no cache). Entries are dropped when Postgres
   * notifies a change (migration 0010) and after apiCacheTtlMs in any case.
   */
  apiCacheMb: number;
  apiCacheTtlMs: number;
  /** Failed authentications (401) per client address per window before every request of it gets 429. */
  authFailureLimit: number;
  /** Postgres connections per process (the pg pool's `max`). */
  dbPoolMax: number;
  /** On SIGTERM/SIGINT, how long running jobs may finish before they are cancelled and the process exits. */
  shutdownGraceMs: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, def: number, errors: string[], min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    errors.push(`${key} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
    return def;
  }
  return n;
}

function url(env: Env, key: string, def: string | undefined, errors: string[]): string | undefined {
  const raw = env[key] || def;
  if (raw === undefined) return undefined;
  try {
    new URL(raw);
  } catch {
    errors.push(`${key} must be a URL, got ${JSON.stringify(raw)}`);
  }
  return raw.replace(/\/+$/, '');
}

/** HUBWATCH_TRUST_PROXY: unset → false; `true`; a hop count; or a comma list of addresses and CIDRs. */
function trustProxy(raw: string | undefined, errors: string[]): boolean | number | string[] {
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter(
    (a) => !/^(?:[\d.]+|[\da-fA-F:]+)(?:\/\d{1,3})?$|^(?:loopback|linklocal|uniquelocal)$/.test(a),
  );
  if (bad.length) errors.push(`HUBWATCH_TRUST_PROXY has entries that are not addresses or CIDRs: ${bad.join(', ')}`);
  return list;
}

/** HUBWATCH_COMPUTE_BACKEND: `cpu`, `torch` or `auto` (default). */
function computeBackend(raw: string | undefined, errors: string[]): 'cpu' | 'torch' | 'auto' {
  if (raw === undefined || raw === '') return 'auto';
  if (raw === 'cpu' || raw === 'torch' || raw === 'auto') return raw;
  errors.push(`HUBWATCH_COMPUTE_BACKEND must be cpu, torch or auto, got ${JSON.stringify(raw)}`);
  return 'auto';
}

/** HUBWATCH_FINGERPRINT_LAYERS: a comma list of layer indices; unset: first, middle and last. */
function layerList(raw: string | undefined, errors: string[]): number[] | null {
  if (raw === undefined || raw === '') return null;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 0)) {
    errors.push(`HUBWATCH_FINGERPRINT_LAYERS must list layer indices, got ${JSON.stringify(raw)}`);
    return null;
  }
  return list;
}

/**
 * Reads and validates the configuration from an environment (process.env by default); `overrides.hubUrl` (the CLI's
 * --hub-url) stands for HUBWATCH_HUB_URL.
 */
export function loadConfig(env: Env = process.env, overrides: { hubUrl?: string } = {}): Config {
  const errors: string[] = [];
  const host = env.HUBWATCH_HOST || '127.0.0.1';
  const port = int(env, 'HUBWATCH_PORT', 8080, errors);
  const cfg: Config = {
    databaseUrl: url(env, 'HUBWATCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/hubwatch', errors)!,
    redisUrl: url(env, 'HUBWATCH_REDIS_URL', 'redis://127.0.0.1:6379', errors)!,
    queuePrefix: env.HUBWATCH_QUEUE_PREFIX || 'hubwatch',
    hubUrl: url(
      { ...env, HUBWATCH_HUB_URL: overrides.hubUrl ?? env.HUBWATCH_HUB_URL },
      'HUBWATCH_HUB_URL',
      'https://huggingface.co',
      errors,
    )!,
    hfToken: undefined,
    hfTokenSource: null,
    color:
      env.FORCE_COLOR && env.FORCE_COLOR !== '0' ? 'always' : env.NO_COLOR || env.TERM === 'dumb' ? 'never' : 'auto',
    columns: int(env, 'COLUMNS', 0, errors),
    webhookSecret: env.HUBWATCH_WEBHOOK_SECRET || undefined,
    apiToken: env.HUBWATCH_API_TOKEN || undefined,
    host,
    port,
    publicUrl: url(env, 'HUBWATCH_PUBLIC_URL', `http://${host.includes(':') ? `[${host}]` : host}:${port}`, errors)!,
    maxFileBytes: int(env, 'HUBWATCH_MAX_FILE_BYTES', 64 * 1024 * 1024, errors, 1),
    checkTimeoutMs: int(env, 'HUBWATCH_CHECK_TIMEOUT_MS', 120_000, errors, 100),
    workerConcurrency: int(env, 'HUBWATCH_WORKER_CONCURRENCY', 2, errors, 1),
    jobLockMs: env.HUBWATCH_JOB_LOCK_MS ? int(env, 'HUBWATCH_JOB_LOCK_MS', 30_000, errors, 1000) : null,
    reconcileMaxAttempts: int(env, 'HUBWATCH_RECONCILE_MAX_ATTEMPTS', 3, errors, 1),
    reconcileIntervalMs: int(env, 'HUBWATCH_RECONCILE_INTERVAL_MS', 30_000, errors, 100),
    reconcileGraceMs: int(env, 'HUBWATCH_RECONCILE_GRACE_MS', 30_000, errors),
    watchAuthors: (env.HUBWATCH_WATCH_AUTHORS || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    pollIntervalMs: int(env, 'HUBWATCH_POLL_INTERVAL_MS', 300_000, errors, 1000),
    slackWebhookUrl: url(env, 'HUBWATCH_SLACK_WEBHOOK_URL', undefined, errors),
    logLevel: env.HUBWATCH_LOG_LEVEL || 'info',
    computeBackend: computeBackend(env.HUBWATCH_COMPUTE_BACKEND, errors),
    python: env.HUBWATCH_PYTHON || undefined,
    fingerprintSampleBytes: int(env, 'HUBWATCH_FINGERPRINT_SAMPLE_BYTES', 8 << 20, errors, 4096),
    fingerprintLayers: layerList(env.HUBWATCH_FINGERPRINT_LAYERS, errors),
    trustProxy: trustProxy(env.HUBWATCH_TRUST_PROXY, errors),
    rateLimitMax: int(env, 'HUBWATCH_RATE_LIMIT_MAX', 1200, errors),
    webhookRateLimitMax: int(env, 'HUBWATCH_WEBHOOK_RATE_LIMIT_MAX', 12_000, errors),
    rateLimitWindowMs: int(env, 'HUBWATCH_RATE_LIMIT_WINDOW_MS', 60_000, errors, 1000),
    apiCacheMb: int(env, 'HUBWATCH_API_CACHE_MB', 64, errors),
    apiCacheTtlMs: int(env, 'HUBWATCH_API_CACHE_TTL_MS', 10_000, errors, 1),
    authFailureLimit: int(env, 'HUBWATCH_AUTH_FAILURE_LIMIT', 20, errors, 1),
    dbPoolMax: int(env, 'HUBWATCH_DB_POOL_MAX', 10, errors, 1),
    shutdownGraceMs: int(env, 'HUBWATCH_SHUTDOWN_GRACE_MS', 25_000, errors),
  };
  // Header values cannot carry leading or trailing whitespace (RFC 9110 §5.5 strips it), so such a secret could
  // never match exactly; refuse it rather than compare loosely.
  for (const key of ['HUBWATCH_WEBHOOK_SECRET', 'HUBWATCH_API_TOKEN'] as const) {
    const v = env[key];
    if (v && v !== v.trim()) errors.push(`${key} must not start or end with whitespace`);
  }
  try {
    const t = findHfToken(env, cfg.hubUrl);
    cfg.hfToken = t?.token;
    cfg.hfTokenSource = t?.source ?? null;
  } catch {
    // hubUrl was invalid: already reported above.
  }
  if (cfg.queuePrefix.includes(':')) errors.push('HUBWATCH_QUEUE_PREFIX must not contain ":"');
  if (errors.length) throw new AppError('config_invalid', `invalid configuration: ${errors.join('; ')}`);
  return cfg;
}
