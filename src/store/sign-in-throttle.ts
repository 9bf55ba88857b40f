import type { Kysely, Selectable, Transaction } from 'kysely'
import type { StoreDialect } from './dialect.js'
import type { Database, DbTime, SignInThrottleTable } from './schema.js'

export type ThrottleRow = Selectable<SignInThrottleTable>

export class SignInThrottleQueries {
  constructor(private readonly dialect: StoreDialect) {}

  find(db: Kysely<Database>, subjects: string[]): Promise<ThrottleRow[]> {
    return db.selectFrom('sign_in_throttle').selectAll().where('subject', 'in', subjects).execute()
  }

  lock(tx: Transaction<Database>, subject: string): Promise<ThrottleRow | undefined> {
    return this.dialect
      .lockForUpdate(tx.selectFrom('sign_in_throttle').selectAll().where('subject', '=', subject))
      .executeTakeFirst()
  }

  async insert(tx: Transaction<Database>, row: ThrottleRow): Promise<void> {
    await tx.insertInto('sign_in_throttle').values(row).execute()
  }

  async update(tx: Transaction<Database>, row: ThrottleRow): Promise<void> {
    await tx
      .updateTable('sign_in_throttle')
      .set({
        failures: row.failures,
        first_failed_at: row.first_failed_at,
        blocked_until: row.blocked_until,
      })
      .where('subject', '=', row.subject)
      .execute()
  }

  async block(tx: Transaction<Database>, subject: string, until: DbTime): Promise<void> {
    await tx
      .updateTable('sign_in_throttle')
      .set({ blocked_until: until })
      .where('subject', '=', subject)
      .execute()
  }

  /** One failure fewer, never below zero. */
  async uncount(tx: Transaction<Database>, subject: string): Promise<void> {
    await tx
      .updateTable('sign_in_throttle')
      .set((eb) => ({ failures: eb('failures', '-', 1) }))
      .where('subject', '=', subject)
      .where('failures', '>', 0)
      .execute()
  }

  async forget(db: Kysely<Database>, subject: string): Promise<void> {
    await db.deleteFrom('sign_in_throttle').where('subject', '=', subject).execute()
  }

  /** Rows whose window and block both ended before the cutoff; kept tidy by the sweeper. */
  async forgetOlderThan(db: Kysely<Database>, cutoff: DbTime): Promise<number> {
    const result = await db
      .deleteFrom('sign_in_throttle')
      .where('first_failed_at', '<', cutoff)
      .where((eb) => eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', cutoff)]))
      .executeTakeFirst()

    return Number(result.numDeletedRows)
  }
}
