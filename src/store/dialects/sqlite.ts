import { chmodSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  sql,
} from 'kysely'
import type { StoreDialect } from '../dialect.js'
import { LostRaceError } from '../dialect.js'

export interface SqliteOptions {
  /** A file path, or ':memory:'. */
  path: string
  busyTimeoutMs: number
}

/**
 * Takes the write lock when the transaction starts. A deferred BEGIN that reads and then
 * writes can fail at once with SQLITE_BUSY when another process wrote in between, and the
 * busy timeout does not apply to that upgrade; BEGIN IMMEDIATE waits instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0]

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config)
    this.#config = config
  }

  override createDriver() {
    return new ImmediateSqliteDriver(this.#config)
  }

  override createAdapter() {
    return new TransactionalDdlSqliteAdapter()
  }
}

/**
 * SQLite's DDL is transactional, but Kysely's adapter says otherwise, so its migrator would
 * run migrations outside any transaction and without a lock (its SQLite lock is a no-op,
 * made for one connection). Saying so lets the migrator wrap them in a transaction, which
 * BEGIN IMMEDIATE above makes exclusive: a second instance waits, then finds nothing to do.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

export function sqliteDialect(options: SqliteOptions): StoreDialect {
  return {
    name: 'sqlite',
    safeUrl: `sqlite:${options.path}`,

    createKyselyDialect() {
      if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true })
      const database = new SqliteDatabase(options.path)
      // The file holds PIN hashes and key digests: for the service's own user only. The
      // write-ahead log and shared-memory files take the same mode from it.
      if (options.path !== ':memory:') chmodSync(options.path, 0o600)
      // Connection settings, applied to the one connection this process holds.
      database.pragma('journal_mode = WAL')
      database.pragma('synchronous = NORMAL')
      database.pragma('foreign_keys = ON')
      database.pragma(`busy_timeout = ${options.busyTimeoutMs}`)

      return new ImmediateSqliteDialect({ database })
    },

    lockForUpdate: (query) => query,
    claimSkippingLocked: (query) => query,

    retryReason(error) {
      if (error instanceof LostRaceError) return 'lost_race'
      const code = (error as { code?: unknown }).code
      if (typeof code !== 'string') return null
      if (code.startsWith('SQLITE_BUSY')) return 'busy'
      if (code.startsWith('SQLITE_LOCKED')) return 'locked'
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        return 'duplicate_key'
      }

      return null
    },

    isUnavailable(error) {
      const code = (error as { code?: unknown }).code

      return code === 'SQLITE_CANTOPEN' || code === 'SQLITE_IOERR'
    },

    // Julian days are doubles, a few microseconds off at most: rounding restores the ms.
    millisBetween: (earlier, later) =>
      sql<number>`cast(round((julianday(${later}) - julianday(${earlier})) * 86400000) as integer)`,

    columnTypes: {
      timestamp: sql`text`,
      taskStatus: sql`text`,
      exactKey: sql`varchar(200)`,
    },
    tableOptions: null,
  }
}
