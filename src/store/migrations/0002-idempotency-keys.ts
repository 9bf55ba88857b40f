import type { Kysely, Migration } from 'kysely'
import type { StoreDialect } from '../dialect.js'

/**
 * Remembers which task a client's Idempotency-Key created, with a digest of the request, so
 * a retried POST /tasks returns the original task instead of making a second one.
 */
export function idempotencyKeys(dialect: StoreDialect): Migration {
  const { timestamp, exactKey } = dialect.columnTypes

  return {
    async up(db: Kysely<unknown>) {
      let table = db.schema
        .createTable('idempotency_key')
        .addColumn('key_value', exactKey, (c) => c.primaryKey())
        .addColumn('request_digest', 'char(64)', (c) => c.notNull())
        .addColumn('task_id', 'integer', (c) => c.notNull().references('qc_task.id'))
        .addColumn('created_at', timestamp, (c) => c.notNull())
      if (dialect.tableOptions) table = table.modifyEnd(dialect.tableOptions)
      await table.execute()

      await db.schema
        .createIndex('idempotency_key_age')
        .on('idempotency_key')
        .column('created_at')
        .execute()
    },
  }
}
