import { CompiledQuery, MysqlDialect, sql } from 'kysely'
import { createPool } from 'mysql2'
import type { AnySelect, StoreDialect } from '../dialect.js'
import { LostRaceError } from '../dialect.js'

export interface MysqlOptions {
  url: string
  poolSize: number
  lockWaitTimeoutS: number
}

const RETRYABLE_ERRNO: Record<number, string> = {
  1213: 'deadlock',
  1205: 'lock_wait_timeout',
  // A unique guard (open assignment, idempotency key) another writer claimed first.
  1062: 'duplicate_key',
}

const SQL_MODE = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ECONNABORTED',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
])

/**
 * MariaDB's own numbers, which mysql2 (written for MySQL) gives no code: 1927 "Connection
 * was killed" ends the sessions of a server that is shutting down.
 */
const UNAVAILABLE_ERRNO = new Set([1927])

export function mysqlDialect(options: MysqlOptions): StoreDialect {
  const url = new URL(options.url)
  if (url.password) url.password = '***'

  return {
    name: 'mysql',
    safeUrl: url.toString(),

    createKyselyDialect: () =>
      new MysqlDialect({
        pool: createPool({
          uri: options.url,
          connectionLimit: options.poolSize,
          charset: 'utf8mb4_unicode_ci',
          // DATETIME(3) comes back as text in UTC; time.ts converts it.
          dateStrings: true,
          timezone: 'Z',
          connectTimeout: 5000,
          enableKeepAlive: true,
        }),
        // Session settings belong to every pooled connection, not to a migration.
        onCreateConnection: async (connection) => {
          await connection.executeQuery(
            CompiledQuery.raw(
              `set session time_zone = '+00:00', sql_mode = '${SQL_MODE}', ` +
                `innodb_lock_wait_timeout = ${options.lockWaitTimeoutS}`,
            ),
          )
          // Queue claims take no gap locks under READ COMMITTED, so inserts never wait on them.
          await connection.executeQuery(
            CompiledQuery.raw('set session transaction isolation level read committed'),
          )
        },
      }),

    // Kysely's lock clauses keep the builder's type; the cast only restores the generic.
    lockForUpdate: <Q extends AnySelect>(query: Q) => query.forUpdate() as Q,
    claimSkippingLocked: <Q extends AnySelect>(query: Q) => query.forUpdate().skipLocked() as Q,

    retryReason(error) {
      if (error instanceof LostRaceError) return 'lost_race'
      const errno = (error as { errno?: unknown }).errno

      return typeof errno === 'number' ? (RETRYABLE_ERRNO[errno] ?? null) : null
    },

    isUnavailable(error) {
      const { code, errno, fatal } = (error ?? {}) as Record<string, unknown>
      // mysql2 marks every error that broke the connection as fatal, some without a code:
      // a rollback on a connection the server dropped mid-transaction fails with "Can't add
      // new command when connection is in closed state", and replaces the original error.
      if (fatal === true) return true
      if (typeof errno === 'number' && UNAVAILABLE_ERRNO.has(errno)) return true

      return typeof code === 'string' && UNAVAILABLE_CODES.has(code)
    },

    // DATETIME(3) differs by whole thousands of microseconds, so the division is exact.
    millisBetween: (earlier, later) =>
      sql<number>`(timestampdiff(microsecond, ${earlier}, ${later}) div 1000)`,

    columnTypes: {
      timestamp: sql`datetime(3)`,
      taskStatus: sql`enum('PENDING', 'IN_PROGRESS', 'DONE')`,
      // The tables' collation ignores case; a key must not.
      exactKey: sql`varchar(200) character set utf8mb4 collate utf8mb4_bin`,
    },
    tableOptions: sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci`,
  }
}
