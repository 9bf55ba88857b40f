import type { Kysely, Selectable, Transaction } from 'kysely'
import { expectOneRow } from './compare-and-set.js'
import type { StoreDialect } from './dialect.js'
import type { Database, DbTime, QcTaskTable, TaskStatus } from './schema.js'

export type TaskRow = Selectable<QcTaskTable>

export class TaskQueries {
  constructor(private readonly dialect: StoreDialect) {}

  async insert(
    db: Kysely<Database>,
    task: { description: string; now: DbTime; createdBy: string },
  ): Promise<number> {
    const result = await db
      .insertInto('qc_task')
      .values({
        description: task.description,
        status: 'PENDING',
        created_at: task.now,
        created_by: task.createdBy,
      })
      .executeTakeFirstOrThrow()

    return Number(result.insertId)
  }

  find(db: Kysely<Database>, id: number): Promise<TaskRow | undefined> {
    return db.selectFrom('qc_task').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** Newest first, optionally in one status. */
  list(
    db: Kysely<Database>,
    page: { status?: TaskStatus; beforeId?: number; limit: number },
  ): Promise<TaskRow[]> {
    let query = db.selectFrom('qc_task').selectAll().orderBy('id', 'desc').limit(page.limit)
    if (page.status) query = query.where('status', '=', page.status)
    if (page.beforeId !== undefined) query = query.where('id', '<', page.beforeId)

    return query.execute()
  }

  /** Pending tasks in queue order: oldest first, ties broken by id. */
  listPending(
    db: Kysely<Database>,
    page: { after?: [DbTime, number]; limit: number },
  ): Promise<TaskRow[]> {
    let query = db
      .selectFrom('qc_task')
      .selectAll()
      .where('status', '=', 'PENDING')
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
    const after = page.after
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb('created_at', '>', after[0]),
          eb.and([eb('created_at', '=', after[0]), eb('id', '>', after[1])]),
        ]),
      )
    }

    return query.execute()
  }

  async countPending(db: Kysely<Database>): Promise<number> {
    const row = await db
      .selectFrom('qc_task')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('status', '=', 'PENDING')
      .executeTakeFirstOrThrow()

    return Number(row.count)
  }

  lock(tx: Transaction<Database>, id: number): Promise<TaskRow | undefined> {
    return this.dialect
      .lockForUpdate(tx.selectFrom('qc_task').selectAll().where('id', '=', id))
      .executeTakeFirst()
  }

  /** The oldest pending task, locked; rows other claimers hold are passed over. */
  claimOldestPending(tx: Transaction<Database>) {
    return this.dialect
      .claimSkippingLocked(
        tx
          .selectFrom('qc_task')
          .selectAll()
          .where('status', '=', 'PENDING')
          .orderBy('created_at')
          .orderBy('id')
          .limit(1),
      )
      .executeTakeFirst()
  }

  async markInProgress(
    tx: Transaction<Database>,
    id: number,
    personId: number,
    now: DbTime,
  ): Promise<void> {
    const result = await tx
      .updateTable('qc_task')
      .set({ status: 'IN_PROGRESS', assigned_person_id: personId, assigned_at: now })
      .where('id', '=', id)
      .where('status', '=', 'PENDING')
      .executeTakeFirst()
    expectOneRow(result, `start task ${id}`)
  }

  async markDone(tx: Transaction<Database>, id: number, now: DbTime): Promise<void> {
    const result = await tx
      .updateTable('qc_task')
      .set({ status: 'DONE', completed_at: now })
      .where('id', '=', id)
      .where('status', '=', 'IN_PROGRESS')
      .executeTakeFirst()
    expectOneRow(result, `complete task ${id}`)
  }

  /** Withdrawn: pending or in progress (its assignment closed by the caller) to CANCELLED. */
  async markCancelled(tx: Transaction<Database>, id: number, now: DbTime): Promise<void> {
    const result = await tx
      .updateTable('qc_task')
      .set({ status: 'CANCELLED', completed_at: now })
      .where('id', '=', id)
      .where('status', 'in', ['PENDING', 'IN_PROGRESS'])
      .executeTakeFirst()
    expectOneRow(result, `cancel task ${id}`)
  }

  /** Back to the queue; created_at is untouched, so it keeps its original place. */
  async requeue(tx: Transaction<Database>, id: number): Promise<void> {
    const result = await tx
      .updateTable('qc_task')
      .set({ status: 'PENDING', assigned_person_id: null, assigned_at: null })
      .where('id', '=', id)
      .where('status', '=', 'IN_PROGRESS')
      .executeTakeFirst()
    expectOneRow(result, `requeue task ${id}`)
  }
}
