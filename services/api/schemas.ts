import { Type } from '@sinclair/typebox';

/** Route schemas (TypeBox); repo parts follow the Hub's naming rules. */
const NamePart = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$' });

export const ModelParams = Type.Object({ org: NamePart, name: NamePart });
export const ReleaseParams = Type.Object({
  org: NamePart,
  name: NamePart,
  sha: Type.String({ pattern: '^[0-9a-f]{7,40}$' }),
});
export const ModelListQuery = Type.Object(
  {
    author: Type.Optional(NamePart),
    verdict: Type.Optional(
      Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('ok'), Type.Literal('error')]),
    ),
    code: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,63}$' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);
