import type { StoreDialect } from './dialect.js'
import { mysqlDialect } from './dialects/mysql.js'
import { sqliteDialect } from './dialects/sqlite.js'

export interface ConnectOptions {
  /** mysql://user:pass@host:3306/db, or sqlite:path (sqlite::memory: for a throwaway one). */
  url: string
  poolSize: number
  lockWaitTimeoutS: number
}

export function dialectFor(options: ConnectOptions): StoreDialect {
  const { url } = options
  if (url.startsWith('mysql://')) {
    return mysqlDialect({
      url,
      poolSize: options.poolSize,
      lockWaitTimeoutS: options.lockWaitTimeoutS,
    })
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '')
    if (!path) throw new Error(`DATABASE_URL ${url} names no file; write sqlite:data/qc.sqlite`)

    return sqliteDialect({ path, busyTimeoutMs: options.lockWaitTimeoutS * 1000 })
  }
  throw new Error(`DATABASE_URL must start with mysql:// or sqlite:, got ${JSON.stringify(url)}`)
}
