import { type Kysely, type Migration, Migrator } from 'kysely'
import type { StoreDialect } from './dialect.js'
import { initialSchema } from './migrations/0001-initial-schema.js'
import { idempotencyKeys } from './migrations/0002-idempotency-keys.js'
import { accessControl } from './migrations/0003-access-control.js'
import { dashboardIndexes } from './migrations/0004-dashboard-indexes.js'
import { retrying } from './retry.js'

/** Versioned migrations, applied in name order. Never edit one that has shipped; add another. */
const MIGRATIONS: Record<string, (dialect: StoreDialect) => Migration> = {
  '0001-initial-schema': initialSchema,
  '0002-idempotency-keys': idempotencyKeys,
  '0003-access-control': accessControl,
  '0004-dashboard-indexes': dashboardIndexes,
}

export const MIGRATION_NAMES = Object.keys(MIGRATIONS)

function migrations(dialect: StoreDialect): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(MIGRATIONS).map(([name, migration]) => [name, migration(dialect)]),
  )
}

export interface MigrationReport {
  applied: string[]
}

/**
 * Brings the schema up to date. Kysely's migrator serialises concurrent runs (MySQL: a named
 * server lock; SQLite: one write transaction), so instances starting together apply each
 * migration once; on SQLite the loser of the race may see SQLITE_BUSY, and simply runs again
 * to find nothing left to do.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  dialect: StoreDialect,
): Promise<MigrationReport> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) },
  })

  return retrying(
    async () => {
      const { error, results = [] } = await migrator.migrateToLatest()
      if (error) throw error

      return { applied: results.map((result) => result.migrationName) }
    },
    (error) => dialect.retryReason(error),
    () => {},
  )
}

/** True when every migration this build knows has been applied. */
export async function isMigrated(db: Kysely<unknown>, dialect: StoreDialect): Promise<boolean> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) },
  })
  const known = await migrator.getMigrations()

  return known.length > 0 && known.every((migration) => migration.executedAt !== undefined)
}
