/**
 * Validation and safe storage of Hub webhook payloads (hub-docs webhooks.md, payload version 3). A payload is
 * checked against bounds before it is classified or stored: real deliveries are a few levels deep with short
 * strings, so anything far outside that is refused, but still stored (bounded) as evidence of what was sent.
 */

/** Bounds of an accepted payload. Real ones: depth ≤ 5, repo names ≤ 193 chars, shas 40 hex. */
export const PAYLOAD_LIMITS = {
  maxDepth: 16,
  /** Any string anywhere (a discussion comment's content is the longest field the Hub sends). */
  maxString: 65_536,
  maxEntries: 1_000,
} as const;

/** Named fields with their own, tighter bounds (path → max length). */
const FIELD_LIMITS: [path: string[], max: number][] = [
  [['event', 'scope'], 128],
  [['event', 'action'], 64],
  [['repo', 'type'], 32],
  [['repo', 'name'], 256],
  [['repo', 'headSha'], 64],
  [['webhook', 'id'], 128],
];

export type PayloadCheck = { ok: true } | { ok: false; errors: string[] };

type Frame = { value: unknown; path: string; depth: number };

/**
 * Checks a parsed payload: a JSON object, nested at most `maxDepth` levels, no string or key longer than
 * `maxString`, no array or object with more than `maxEntries` entries, and the named fields within their bounds.
 * Iterative, stops at the first level past the bound: a 10k-deep payload costs 16 levels of work.
 */
export function checkWebhookPayload(body: unknown): PayloadCheck {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return { ok: false, errors: ['body is not a JSON object'] };
  const errors: string[] = [];
  const stack: Frame[] = [{ value: body, path: '$', depth: 1 }];
  while (stack.length && errors.length < 10) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.length > PAYLOAD_LIMITS.maxString) errors.push(`${path}: string of ${value.length} chars`);
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    if (depth > PAYLOAD_LIMITS.maxDepth) {
      errors.push(`${path}: nested deeper than ${PAYLOAD_LIMITS.maxDepth} levels`);
      continue;
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length > PAYLOAD_LIMITS.maxEntries) {
      errors.push(`${path}: ${entries.length} entries`);
      continue;
    }
    for (const [k, v] of entries) {
      if (k.length > PAYLOAD_LIMITS.maxString) errors.push(`${path}: key of ${k.length} chars`);
      else stack.push({ value: v, path: `${path}.${storableString(k, 64)}`, depth: depth + 1 });
    }
  }
  for (const [path, max] of FIELD_LIMITS) {
    const v = path.reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      body,
    );
    if (typeof v === 'string' && v.length > max) errors.push(`$.${path.join('.')}: ${v.length} chars (at most ${max})`);
  }
  return errors.length ? { ok: false, errors } : { ok: true };
}

// NUL cannot be stored in Postgres text or jsonb ("unsupported Unicode escape sequence"), nor can a lone UTF-16
// surrogate in jsonb; both are written as visible escapes so the stored payload keeps what was sent.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this pattern is for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function storableString(s: string, max: number): string {
  const cut = s.length > max ? `${s.slice(0, max)}…[${s.length - max} more chars]` : s;
  return cut.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A copy of a payload that Postgres jsonb accepts and that is bounded in size: NUL and lone surrogates escaped,
 * strings cut at `maxString`, containers cut at `maxEntries`, levels past `maxDepth` replaced by a marker.
 */
export function storablePayload(value: unknown, depth = 1): unknown {
  const L = PAYLOAD_LIMITS;
  if (typeof value === 'string') return storableString(value, L.maxString);
  if (value === null || typeof value !== 'object') return value;
  if (depth > L.maxDepth) return `[nested deeper than ${L.maxDepth} levels: not stored]`;
  if (Array.isArray(value)) return value.slice(0, L.maxEntries).map((v) => storablePayload(v, depth + 1));
  // A null prototype: a `__proto__` key in a payload stays a plain key.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value).slice(0, L.maxEntries)) {
    out[storableString(k, 256)] = storablePayload(v, depth + 1);
  }
  return out;
}
