import type { AliasableExpression, Dialect, Expression, SelectQueryBuilder } from 'kysely'
import type { DbTime } from './schema.js'

// biome-ignore lint/suspicious/noExplicitAny: a lock clause fits any select
export type AnySelect = SelectQueryBuilder<any, any, any>

/**
 * Everything that differs between MySQL/MariaDB and SQLite lives behind this interface;
 * the queries and the assignment rules are written once against it.
 */
export interface StoreDialect {
  readonly name: 'mysql' | 'sqlite'
  /** A URL for logs and errors, with any password hidden. */
  readonly safeUrl: string
  createKyselyDialect(): Dialect

  /** A row lock that waits for other writers. SQLite's write transaction already excludes them. */
  lockForUpdate<Q extends AnySelect>(query: Q): Q
  /** A row lock that passes over rows other transactions hold, so claimers never queue. */
  claimSkippingLocked<Q extends AnySelect>(query: Q): Q

  /** Why a failed transaction is worth running again (a stable code), or null. */
  retryReason(error: unknown): string | null
  /** True when the error means the database cannot be reached at all. */
  isUnavailable(error: unknown): boolean

  /** Whole milliseconds from one stored time to another; the stores share no date arithmetic. */
  millisBetween(earlier: Expression<DbTime>, later: Expression<DbTime>): AliasableExpression<number>

  readonly columnTypes: {
    readonly timestamp: Expression<unknown>
    readonly taskStatus: Expression<unknown>
    /** Text compared byte for byte: a client's opaque key, where case matters. */
    readonly exactKey: Expression<unknown>
  }
  /** Appended to CREATE TABLE (MySQL: engine and character set). */
  readonly tableOptions: Expression<unknown> | null
}

/** The error a compare-and-set raises when another writer changed the row first. */
export class LostRaceError extends Error {
  override name = 'LostRaceError'
}
