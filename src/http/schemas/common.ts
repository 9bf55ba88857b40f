import { type TSchema, Type } from '@sinclair/typebox'
import { DEFAULT_PAGE_SIZE } from '../../domain/paging.js'

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/**
 * One of a few strings, as a JSON Schema `enum`: a refusal can then list the allowed values,
 * where a union of literals only says that none of them matched.
 */
export const StringEnum = <const T extends readonly string[]>(values: T, description: string) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description })

export const Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'A row id.' })

export const Timestamp = Type.String({
  format: 'date-time',
  description: 'ISO 8601, UTC, milliseconds.',
  examples: ['2026-12-04T17:11:16.123Z'],
})

/**
 * A path id is written in plain decimal; the coercion numbers get would also take 0x10, 1e3
 * or +1 for an id, and answer for a row the client never named.
 */
export const IdParams = Type.Object({
  id: Type.String({ format: 'row-id', description: 'A row id, 1 to 2147483647, in decimal.' }),
})

export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 500,
      default: DEFAULT_PAGE_SIZE,
      description: 'Items per page.',
    }),
  ),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'next_cursor from the previous page; omit for the first page.',
    }),
  ),
}

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    next_cursor: Nullable(Type.String({ description: 'Null on the last page.' })),
  })

/** RFC 9457 problem details, as every error is answered. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String({
      description:
        'Stable, for programs to match on: VALIDATION_FAILED, BAD_URL, BAD_CURSOR, BAD_NAME, ' +
        'BAD_TEXT, MALFORMED_JSON, EMPTY_BODY, BODY_TOO_LARGE, ' +
        'UNSUPPORTED_MEDIA_TYPE, NO_SUCH_ROUTE, PERSON_NOT_FOUND, TASK_NOT_FOUND, ' +
        'PERSON_NOT_LOGGED_IN, TASK_NOT_IN_PROGRESS, TASK_ALREADY_DONE, NOT_YOUR_TASK, ' +
        'IDEMPOTENCY_KEY_REUSED, DATABASE_UNAVAILABLE, DATABASE_BUSY, OUTCOME_UNKNOWN, ' +
        'NOT_READY, INTERNAL_ERROR.',
    }),
    errors: Type.Optional(
      Type.Array(Type.Object({ pointer: Type.String(), detail: Type.String() })),
    ),
  },
  { $id: 'Problem', description: 'application/problem+json' },
)

const problemContent = {
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
}

/** The error answers every route can give, for validation of the answer and the docs. */
export const problemResponses = {
  '4xx': problemContent,
  '5xx': problemContent,
}
