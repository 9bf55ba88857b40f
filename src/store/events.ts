import type { Kysely, Selectable } from 'kysely'
import type { Database, QcEventTable } from './schema.js'

export type EventRow = Selectable<QcEventTable>
export type NewEvent = Omit<EventRow, 'id'>

export class EventQueries {
  async append(db: Kysely<Database>, events: NewEvent[]): Promise<void> {
    if (events.length > 0) await db.insertInto('qc_event').values(events).execute()
  }

  /** Newest first. */
  list(
    db: Kysely<Database>,
    page: { taskId?: number; personId?: number; beforeId?: number; limit: number },
  ): Promise<EventRow[]> {
    let query = db.selectFrom('qc_event').selectAll().orderBy('id', 'desc').limit(page.limit)
    if (page.taskId !== undefined) query = query.where('task_id', '=', page.taskId)
    if (page.personId !== undefined) query = query.where('person_id', '=', page.personId)
    if (page.beforeId !== undefined) query = query.where('id', '<', page.beforeId)

    return query.execute()
  }

  /** Oldest first, after the given id: what a follower of the trail reads next. */
  listAfter(
    db: Kysely<Database>,
    afterId: number,
    limit: number,
    filter: { personId?: number } = {},
  ): Promise<EventRow[]> {
    let query = db
      .selectFrom('qc_event')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
    if (filter.personId !== undefined) query = query.where('person_id', '=', filter.personId)

    return query.execute()
  }

  async lastId(db: Kysely<Database>): Promise<number> {
    const row = await db
      .selectFrom('qc_event')
      .select((eb) => eb.fn.max('id').as('last'))
      .executeTakeFirst()

    return Number(row?.last ?? 0)
  }
}
