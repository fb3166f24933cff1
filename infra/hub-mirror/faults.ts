/**
 * Fault injection for the Hub mirror: what a rate-limited, failing, slow or inconsistent Hub (or the CDN behind it)
 * does to a client, selectable per path and for the first N matching requests or a fraction of them.
 *
 * Tests pass rules to `startHubMirror({ faults })`; the standalone mirror reads them as JSON from
 * `HUB_MIRROR_FAULTS` (or `--faults`), e.g.
 *   HUB_MIRROR_FAULTS='[{"path":"/resolve/","first":2,"fault":{"kind":"status","status":429,"retryAfter":1}}]'
 */
import { rng } from '../fixtures/safetensors-writer.ts';

/** What happens to a matching request. */
export type Fault =
  /** Answered with this status (a 429 or 5xx) and, when given, a `Retry-After` header. */
  | { kind: 'status'; status: number; retryAfter?: number | string; headers?: Record<string, string> }
  /** Headers sent only after `delayMs` (a slow or overloaded server). */
  | { kind: 'slow-headers'; delayMs: number }
  /** The body trickled: `bytes` bytes every `intervalMs`. */
  | { kind: 'trickle'; bytes: number; intervalMs: number }
  /** A ranged file read answered with only the first half of the range asked for (Content-Range says so). */
  | { kind: 'short-range' }
  /** A ranged file read answered with another range (`shift` bytes earlier; Content-Range says so). */
  | { kind: 'wrong-range'; shift?: number }
  /** The file served has other content and another ETag (a file that changed between two requests). */
  | { kind: 'etag-change' }
  /** The connection is closed after `afterBytes` body bytes (default: half the body), Content-Length announced. */
  | { kind: 'cut'; afterBytes?: number };

/** One rule: which requests it applies to, and the fault. */
export interface FaultRule {
  /** Matched against the request path (without query): a substring, or a RegExp. */
  path: string | RegExp;
  /** Only this method (GET, HEAD, POST); default any. */
  method?: string;
  /** Only requests with (true) or without (false) a `Range` header; default both. */
  ranged?: boolean;
  /** Matching requests let through untouched before the rule starts applying (default 0). */
  skip?: number;
  /** The rule applies to this many matching requests after `skip`, then never again (default: all). */
  first?: number;
  /** The fraction of matching requests it applies to, chosen by a seeded generator (default 1). */
  fraction?: number;
  fault: Fault;
}

/** The faults of one mirror: `pick` decides, per request, which fault (if any) applies. */
export interface FaultPlan {
  pick(req: { method: string; path: string; ranged: boolean }): Fault | null;
  /** Requests each rule was applied to, in rule order (tests assert the fault really happened). */
  applied(): number[];
}

/** Builds the plan for a list of rules; the first rule that applies to a request wins. */
export function faultPlan(rules: FaultRule[], seed = 1): FaultPlan {
  const random = rng(seed); // seeded: a fraction picks the same requests on every run
  const state = rules.map(() => ({ matched: 0, applied: 0 }));
  return {
    pick(req) {
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i];
        const hit =
          (typeof r.path === 'string' ? req.path.includes(r.path) : r.path.test(req.path)) &&
          (r.method === undefined || r.method.toUpperCase() === req.method) &&
          (r.ranged === undefined || r.ranged === req.ranged);
        if (!hit) continue;
        const s = state[i];
        s.matched++;
        if (s.matched <= (r.skip ?? 0)) continue;
        if (r.first !== undefined && s.applied >= r.first) continue;
        if (r.fraction !== undefined && random() >= r.fraction) continue;
        s.applied++;
        return r.fault;
      }
      return null;
    },
    applied: () => state.map((s) => s.applied),
  };
}

const KINDS = new Set(['status', 'slow-headers', 'trickle', 'short-range', 'wrong-range', 'etag-change', 'cut']);

/** Parses rules from JSON (the standalone mirror's HUB_MIRROR_FAULTS); `pathRegex` gives a RegExp path. Throws. */
export function parseFaultRules(json: string): FaultRule[] {
  const raw = JSON.parse(json) as unknown;
  if (!Array.isArray(raw)) throw new Error('fault rules must be a JSON array');
  return raw.map((r: Record<string, unknown>, i) => {
    const fault = r?.fault as { kind?: unknown } | undefined;
    if (!fault || !KINDS.has(String(fault.kind))) throw new Error(`fault rule ${i}: unknown fault kind`);
    const path = typeof r.pathRegex === 'string' ? new RegExp(r.pathRegex) : r.path;
    if (typeof path !== 'string' && !(path instanceof RegExp)) throw new Error(`fault rule ${i}: no path`);
    return { ...(r as unknown as FaultRule), path };
  });
}

/** Body faults need the file route (ranges, ETags, bytes); the others are applied before routing. */
export type BodyFault = Extract<Fault, { kind: 'trickle' | 'short-range' | 'wrong-range' | 'etag-change' | 'cut' }>;

export function isBodyFault(f: Fault): f is BodyFault {
  return f.kind !== 'status' && f.kind !== 'slow-headers';
}
