import { InvalidInputError } from './errors.js'
import type { Page } from './model.js'

export const DEFAULT_PAGE_SIZE = 50

export interface PageRequest {
  /** DEFAULT_PAGE_SIZE when absent. */
  limit?: number
  cursor?: string
}

/** What a cursor part holds: a row id, or a stored time ('YYYY-MM-DD HH:MM:SS.mmm'). */
type KeyPart = 'id' | 'time'
type KeyValue<P extends KeyPart> = P extends 'id' ? number : string
export type Key<S extends readonly KeyPart[]> = { -readonly [I in keyof S]: KeyValue<S[I]> }

const PART_CHECKS: Record<KeyPart, (part: unknown) => boolean> = {
  id: (part) => Number.isSafeInteger(part) && (part as number) >= 0,
  time: (part) =>
    typeof part === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/.test(part),
}

/**
 * Keyset paging: a cursor is the sort key of the last item served, named after its list and
 * opaque to clients, so a page costs the same at the millionth row as at the first and a
 * cursor from one list is refused by another.
 */
export class Listing<S extends readonly KeyPart[]> {
  constructor(
    readonly name: string,
    private readonly shape: S,
  ) {}

  limitOf(request: PageRequest): number {
    return request.limit ?? DEFAULT_PAGE_SIZE
  }

  /** The key to continue after, or undefined for the first page. */
  after(request: PageRequest): Key<S> | undefined {
    if (request.cursor === undefined) return undefined
    let decoded: unknown
    try {
      decoded = JSON.parse(Buffer.from(request.cursor, 'base64url').toString('utf8'))
    } catch {
      decoded = undefined
    }
    if (!Array.isArray(decoded) || decoded[0] !== this.name || !this.fits(decoded.slice(1))) {
      throw new InvalidInputError(
        'BAD_CURSOR',
        `Cursor ${JSON.stringify(request.cursor)} is not one the ${this.name} list issued; ` +
          'pass next_cursor from the previous page unchanged, or omit it to start over.',
      )
    }

    return decoded.slice(1) as Key<S>
  }

  /** Rows were fetched with limit + 1, so an extra row means another page exists. */
  page<R, T>(
    rows: R[],
    request: PageRequest,
    toItem: (row: R) => T,
    keyOf: (row: R) => Key<S>,
  ): Page<T> {
    const limit = this.limitOf(request)
    const pageRows = rows.slice(0, limit)
    const last = pageRows.at(-1)
    const more = rows.length > limit && last !== undefined

    return {
      items: pageRows.map(toItem),
      next_cursor: more
        ? Buffer.from(JSON.stringify([this.name, ...keyOf(last)])).toString('base64url')
        : null,
    }
  }

  private fits(parts: unknown[]): boolean {
    return (
      parts.length === this.shape.length &&
      parts.every((part, index) => PART_CHECKS[this.shape[index] as KeyPart](part))
    )
  }
}
