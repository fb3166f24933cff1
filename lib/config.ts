/**
 * The one place that reads the environment. Every variable is documented in the README; loadConfig validates
 * them once and throws AppError('config_invalid') with every problem listed.
 */
import { AppError } from './errors.ts';

export interface Config {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  hubUrl: string;
  hfToken: string | undefined;
  webhookSecret: string | undefined;
  apiToken: string | undefined;
  host: string;
  port: number;
  publicUrl: string;
  maxFileBytes: number;
  checkTimeoutMs: number;
  workerConcurrency: number;
  watchAuthors: string[];
  pollIntervalMs: number;
  slackWebhookUrl: string | undefined;
  logLevel: string;
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

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(env: Env = process.env): Config {
  const errors: string[] = [];
  const host = env.HUBWATCH_HOST || '127.0.0.1';
  const port = int(env, 'HUBWATCH_PORT', 8080, errors);
  const cfg: Config = {
    databaseUrl: url(env, 'HUBWATCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/hubwatch', errors)!,
    redisUrl: url(env, 'HUBWATCH_REDIS_URL', 'redis://127.0.0.1:6379', errors)!,
    queuePrefix: env.HUBWATCH_QUEUE_PREFIX || 'hubwatch',
    hubUrl: url(env, 'HUBWATCH_HUB_URL', 'https://huggingface.co', errors)!,
    hfToken: env.HUBWATCH_HF_TOKEN || undefined,
    webhookSecret: env.HUBWATCH_WEBHOOK_SECRET || undefined,
    apiToken: env.HUBWATCH_API_TOKEN || undefined,
    host,
    port,
    publicUrl: url(env, 'HUBWATCH_PUBLIC_URL', `http://${host.includes(':') ? `[${host}]` : host}:${port}`, errors)!,
    maxFileBytes: int(env, 'HUBWATCH_MAX_FILE_BYTES', 64 * 1024 * 1024, errors, 1),
    checkTimeoutMs: int(env, 'HUBWATCH_CHECK_TIMEOUT_MS', 120_000, errors, 100),
    workerConcurrency: int(env, 'HUBWATCH_WORKER_CONCURRENCY', 2, errors, 1),
    watchAuthors: (env.HUBWATCH_WATCH_AUTHORS || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    pollIntervalMs: int(env, 'HUBWATCH_POLL_INTERVAL_MS', 300_000, errors, 1000),
    slackWebhookUrl: url(env, 'HUBWATCH_SLACK_WEBHOOK_URL', undefined, errors),
    logLevel: env.HUBWATCH_LOG_LEVEL || 'info',
  };
  if (cfg.queuePrefix.includes(':')) errors.push('HUBWATCH_QUEUE_PREFIX must not contain ":"');
  if (errors.length) throw new AppError('config_invalid', `invalid configuration: ${errors.join('; ')}`);
  return cfg;
}
