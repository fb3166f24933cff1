/**
 * Hub webhook payloads (version 3) and their delivery, as huggingface.co sends them: a JSON POST with the secret
 * verbatim in `X-Webhook-Secret` (no HMAC). Source: huggingface/hub-docs docs/hub/webhooks.md.
 */
import { createHash } from 'node:crypto';

/** Where and with which secret the mirror delivers webhooks. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

/** The repo part of a payload. */
export interface WebhookRepo {
  type: 'model';
  name: string;
  id: string;
  private: boolean;
  url: { web: string; api: string };
  headSha: string;
  owner: { id: string };
}

/** A webhook payload as the Hub sends it. */
export interface WebhookPayload {
  event: { action: 'create' | 'update'; scope: 'repo' | 'repo.content' | 'repo.config' };
  repo: WebhookRepo;
  updatedRefs?: { ref: string; oldSha: string | null; newSha: string | null }[];
  updatedConfig?: { private?: boolean };
  webhook: { id: string; version: 3 };
}

/** A stable 24-hex object id (the Hub's ids are Mongo ObjectIds) derived from a name. */
export function objectId(name: string): string {
  return createHash('sha1').update(name).digest('hex').slice(0, 24);
}

/** The `repo` block of a payload for a model repo served at `baseUrl`. */
export function webhookRepo(baseUrl: string, name: string, isPrivate: boolean, headSha: string): WebhookRepo {
  return {
    type: 'model',
    name,
    id: objectId(`model:${name}`),
    private: isPrivate,
    url: { web: `${baseUrl}/${name}`, api: `${baseUrl}/api/models/${name}` },
    headSha,
    owner: { id: objectId(`owner:${name.split('/')[0]}`) },
  };
}

const WEBHOOK = { id: objectId('hubwatch-mirror-webhook'), version: 3 as const };

/** Payload for a new repo (`repo` / `create`). */
export function createPayload(repo: WebhookRepo): WebhookPayload {
  return { event: { action: 'create', scope: 'repo' }, repo, webhook: WEBHOOK };
}

/** Payload for new commits on main (`repo.content` / `update`). */
export function contentUpdatePayload(repo: WebhookRepo, oldSha: string | null, newSha: string): WebhookPayload {
  return {
    event: { action: 'update', scope: 'repo.content' },
    repo,
    updatedRefs: [{ ref: 'refs/heads/main', oldSha, newSha }],
    webhook: WEBHOOK,
  };
}

/** Payload for a visibility change (`repo.config` / `update`). */
export function configUpdatePayload(repo: WebhookRepo, isPrivate: boolean): WebhookPayload {
  return {
    event: { action: 'update', scope: 'repo.config' },
    repo,
    updatedConfig: { private: isPrivate },
    webhook: WEBHOOK,
  };
}

/**
 * POSTs a payload and returns the HTTP status, or null when the request failed (connection refused, timeout).
 * Never throws.
 */
export async function sendWebhook(
  target: WebhookTarget,
  payload: WebhookPayload,
  timeoutMs = 10_000,
): Promise<number | null> {
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Webhook-Secret': target.secret },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return null;
  }
}
