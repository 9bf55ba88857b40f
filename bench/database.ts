// The benchmark's own connection to a database, for seeding and reading results: never
// the service's code, so what the service does is measured and not relied on.
import SqliteDatabase from 'better-sqlite3'
import { createPool, type Pool } from 'mysql2/promise'
import type { StoreKind } from './captured-sql.js'

export type Row = Record<string, unknown>

export interface BenchDb {
  readonly kind: StoreKind
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>
  /** A write; resolves with the rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>
  close(): Promise<void>
}

export function openBenchDb(url: string): BenchDb {
  return url.startsWith('mysql://') ? mysqlDb(url) : sqliteDb(url.slice('sqlite:'.length))
}

function mysqlDb(url: string): BenchDb {
  const pool: Pool = createPool({
    uri: url,
    connectionLimit: 2,
    dateStrings: true,
    timezone: 'Z',
    connectTimeout: 5000,
  })

  return {
    kind: 'mysql',
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await pool.query(sql, params)

      return rows as T[]
    },
    async run(sql: string, params: unknown[] = []) {
      const [result] = await pool.query(sql, params)

      return (result as { affectedRows: number }).affectedRows
    },
    close: () => pool.end(),
  }
}

function sqliteDb(path: string): BenchDb {
  const db = new SqliteDatabase(path)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 10000')

  return {
    kind: 'sqlite',
    async query<T>(sql: string, params: unknown[] = []) {
      return db.prepare(sql).all(...params) as T[]
    },
    async run(sql: string, params: unknown[] = []) {
      return db.prepare(sql).run(...params).changes
    },
    async close() {
      db.close()
    },
  }
}
