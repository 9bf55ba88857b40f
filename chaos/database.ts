import SqliteDatabase from 'better-sqlite3'
import { Kysely, MysqlDialect, SqliteDialect } from 'kysely'
import { createPool } from 'mysql2'
import type { Database } from '../src/store/schema.js'

/**
 * A connection of the checker's own to a scenario's database: the invariants read the
 * tables directly rather than trusting any service code to report on itself.
 */
export function openForChecks(url: string): Kysely<Database> {
  if (url.startsWith('mysql://')) {
    const pool = createPool({ uri: url, connectionLimit: 2, connectTimeout: 5000 })

    return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) })
  }
  const path = url.slice('sqlite:'.length)
  const database = new SqliteDatabase(path, { readonly: true, fileMustExist: true })
  database.pragma('busy_timeout = 5000')

  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
}
