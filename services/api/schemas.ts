import { Type } from '@sinclair/typebox';
import type { TSchema, TUnsafe } from '@sinclair/typebox';
import { ALL_CHECKS } from '../../checks/index.ts';
import { REPO_ID_PATTERN, REPO_PART_PATTERN, REVISION_PATTERN } from '../../lib/repo-id.ts';

/** A string out of a closed list, as a JSON Schema `enum` (so a 400 can name the allowed values). */
export const StringEnum = <T extends string>(values: readonly T[], opts: Record<string, unknown> = {}): TUnsafe<T> =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...opts });

/** Route schemas (TypeBox); repo ids and revisions follow the one rule in lib/repo-id.ts. */
export const NamePart = Type.String({ pattern: REPO_PART_PATTERN });
export const RepoId = Type.String({ pattern: REPO_ID_PATTERN, description: 'org/name' });
export const Revision = Type.String({ pattern: REVISION_PATTERN, description: 'branch, tag or commit sha' });

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export const VERDICTS = ['critical', 'warning', 'ok', 'error'] as const;
export const Severity = StringEnum(SEVERITIES);
export const Verdict = StringEnum(VERDICTS);

/** Every finding code some check of the catalog can emit (CHECK_ERROR comes from the runner itself). */
export const FINDING_CODES = [...new Set([...ALL_CHECKS.flatMap((c) => c.codes), 'CHECK_ERROR'])].sort();
export const CHECK_IDS = ALL_CHECKS.map((c) => c.id);
export const FindingCodeParam = StringEnum(FINDING_CODES, { description: 'a finding code of the check catalog' });

export const ModelParams = Type.Object({ org: NamePart, name: NamePart });
export const ReleaseParams = Type.Object({
  org: NamePart,
  name: NamePart,
  sha: Type.String({ pattern: '^[0-9a-f]{7,40}$', description: 'commit sha, full or a prefix of 7 or more' }),
});
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

const Cursor = Type.String({ maxLength: 200, description: 'nextCursor of the previous page' });
const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 });

export const ModelListQuery = Type.Object(
  {
    author: Type.Optional(NamePart),
    verdict: Type.Optional(Verdict),
    code: Type.Optional(FindingCodeParam),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

export const FindingListQuery = Type.Object(
  {
    code: Type.Optional(FindingCodeParam),
    severity: Type.Optional(Severity),
    check: Type.Optional(StringEnum(CHECK_IDS)),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339 time' })),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

export const PageQuery = Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) });

/** Links of every resource: the API resource, the human page, the Hub. */
export const Links = Type.Object(
  {
    self: Type.String(),
    page: Type.Optional(Type.String()),
    hub: Type.Optional(Type.String()),
    next: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** An RFC 9457 problem (every error response). */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/** Standard error responses of a route, for the OpenAPI document. */
export const errors = (...codes: number[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((c) => [c, { ...Problem, description: 'application/problem+json' }]));

/** A page of a list: its items under `key`, the cursor of the next page and links. */
export const Page = <T extends TSchema>(key: string, item: T) =>
  Type.Object({ [key]: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]), links: Links });
