import type { Kysely, Transaction } from 'kysely'
import type { StoreDialect } from './dialect.js'
import type { Database, DbTime } from './schema.js'

export class IdempotencyKeyQueries {
  constructor(private readonly dialect: StoreDialect) {}

  /** Locks the key's row, so a concurrent retry waits for the first request's outcome. */
  find(tx: Transaction<Database>, key: string) {
    return this.dialect
      .lockForUpdate(
        tx
          .selectFrom('idempotency_key')
          .select(['request_digest', 'task_id'])
          .where('key_value', '=', key),
      )
      .executeTakeFirst()
  }

  /** Two first requests racing with one key: the loser's insert fails and its retry replays. */
  async remember(
    tx: Transaction<Database>,
    entry: { key: string; digest: string; taskId: number; now: DbTime },
  ): Promise<void> {
    await tx
      .insertInto('idempotency_key')
      .values({
        key_value: entry.key,
        request_digest: entry.digest,
        task_id: entry.taskId,
        created_at: entry.now,
      })
      .execute()
  }

  /** Forgets keys older than the cutoff, oldest first, a batch at a time. */
  async forgetOlderThan(db: Kysely<Database>, cutoff: DbTime, batchSize: number): Promise<number> {
    const old = await db
      .selectFrom('idempotency_key')
      .select('key_value')
      .where('created_at', '<', cutoff)
      .orderBy('created_at')
      .limit(batchSize)
      .execute()
    if (old.length === 0) return 0
    const result = await db
      .deleteFrom('idempotency_key')
      .where(
        'key_value',
        'in',
        old.map((row) => row.key_value),
      )
      .where('created_at', '<', cutoff)
      .executeTakeFirst()

    return Number(result.numDeletedRows)
  }
}
