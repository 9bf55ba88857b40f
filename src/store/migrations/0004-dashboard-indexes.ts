import type { Kysely, Migration } from 'kysely'

/**
 * What the supervisor's dashboard and the history export read by time. Without these, a
 * count of today's completions walks every DONE task ever, and an hour or a month of
 * assignments is found by reading the whole table.
 */
export function dashboardIndexes(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // Done and cancelled today, completions per hour: one range per status.
      await db.schema
        .createIndex('qc_task_ended')
        .on('qc_task')
        .columns(['status', 'completed_at'])
        .execute()
      // Waits over the last hours, and the export's keyset order.
      await db.schema
        .createIndex('assignment_by_start')
        .on('assignment')
        .columns(['assigned_at', 'id'])
        .execute()
      // Each inspector's completions today, however long their history.
      await db.schema
        .createIndex('assignment_ended_by_person')
        .on('assignment')
        .columns(['person_id', 'completed_at'])
        .execute()
    },
  }
}
