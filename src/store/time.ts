import type { DbTime } from './schema.js'

/** '2026-12-04T17:11:16.123Z' -> '2026-12-04 17:11:16.123', the form both stores keep. */
export function toDbTime(date: Date): DbTime {
  return date.toISOString().slice(0, 23).replace('T', ' ')
}

export function fromDbTime(value: DbTime): Date {
  return new Date(`${value.replace(' ', 'T')}Z`)
}

export function isoFromDbTime(value: DbTime): string {
  return fromDbTime(value).toISOString()
}

export function isoOrNull(value: DbTime | null): string | null {
  return value === null ? null : isoFromDbTime(value)
}
