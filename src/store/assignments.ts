import type { Kysely, Selectable, Transaction } from 'kysely'
import { expectOneRow } from './compare-and-set.js'
import type { AssignmentTable, Database, DbTime, EndReason, StartReason } from './schema.js'

export type AssignmentRow = Omit<Selectable<AssignmentTable>, 'open_task_id' | 'open_person_id'>

/** Every column but the generated guards. */
export const ASSIGNMENT_COLUMNS = [
  'id',
  'task_id',
  'person_id',
  'assigned_at',
  'completed_at',
  'start_reason',
  'end_reason',
  'started_by',
  'ended_by',
] as const

export class AssignmentQueries {
  async open(
    tx: Transaction<Database>,
    opening: {
      taskId: number
      personId: number
      now: DbTime
      reason: StartReason
      actor: string
    },
  ): Promise<number> {
    const result = await tx
      .insertInto('assignment')
      .values({
        task_id: opening.taskId,
        person_id: opening.personId,
        assigned_at: opening.now,
        start_reason: opening.reason,
        started_by: opening.actor,
      })
      .executeTakeFirstOrThrow()

    return Number(result.insertId)
  }

  async close(
    tx: Transaction<Database>,
    taskId: number,
    now: DbTime,
    reason: EndReason,
    actor: string,
  ): Promise<void> {
    const result = await tx
      .updateTable('assignment')
      .set({ completed_at: now, end_reason: reason, ended_by: actor })
      .where('open_task_id', '=', taskId)
      .executeTakeFirst()
    expectOneRow(result, `close the assignment of task ${taskId}`)
  }

  findOpenTaskOf(db: Kysely<Database>, personId: number) {
    return db
      .selectFrom('assignment')
      .select('task_id')
      .where('open_person_id', '=', personId)
      .executeTakeFirst()
  }

  /** Newest first. */
  list(
    db: Kysely<Database>,
    page: { taskId?: number; personId?: number; beforeId?: number; limit: number },
  ): Promise<AssignmentRow[]> {
    let query = db
      .selectFrom('assignment')
      .select(ASSIGNMENT_COLUMNS)
      .orderBy('id', 'desc')
      .limit(page.limit)
    if (page.taskId !== undefined) query = query.where('task_id', '=', page.taskId)
    if (page.personId !== undefined) query = query.where('person_id', '=', page.personId)
    if (page.beforeId !== undefined) query = query.where('id', '<', page.beforeId)

    return query.execute()
  }
}
