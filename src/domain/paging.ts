import { InvalidInputError } from './errors.js'
import type { Page } from './model.js'

/**
 * Keyset paging: a cursor is the sort key of the last item served, opaque to clients, so a
 * page costs the same at the millionth row as at the first.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

/** What a cursor part holds: a row id, or a stored time ('YYYY-MM-DD HH:MM:SS.mmm'). */
type KeyPart = 'id' | 'time'

const PART_CHECKS: Record<KeyPart, (part: unknown) => boolean> = {
  id: (part) => Number.isSafeInteger(part) && (part as number) >= 0,
  time: (part) =>
    typeof part === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/.test(part),
}

export function decodeCursor<K extends readonly (string | number)[]>(
  cursor: string,
  shape: { [I in keyof K]: K[I] extends number ? 'id' : 'time' },
): K {
  const parts = shape as readonly KeyPart[]
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = undefined
  }
  const fits =
    Array.isArray(key) &&
    key.length === parts.length &&
    key.every((part, index) => PART_CHECKS[parts[index] as KeyPart](part))
  if (!fits) {
    throw new InvalidInputError(
      'BAD_CURSOR',
      `Cursor ${JSON.stringify(cursor)} is not one this list issued; ` +
        'pass next_cursor from the previous page unchanged, or omit it to start over.',
    )
  }

  return key as K
}

/** Rows were fetched with limit + 1, so an extra row means another page exists. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  toItem: (row: R) => T,
  keyOf: (row: R) => readonly (string | number)[],
): Page<T> {
  const pageRows = rows.slice(0, limit)
  const last = pageRows.at(-1)

  return {
    items: pageRows.map(toItem),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  }
}
