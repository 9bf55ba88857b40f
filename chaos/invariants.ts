import { type Kysely, type RawBuilder, sql } from 'kysely'
import type { Database } from '../src/store/schema.js'

/**
 * The rules the tables must obey whatever happened before, each as a query that returns the
 * rows breaking it: an empty answer means the rule holds. Written in SQL both stores accept,
 * and read straight from the tables, so no service code is trusted to report on itself.
 */
type Db = Kysely<Database>
type Row = Record<string, unknown>

const rows = async (db: Db, query: RawBuilder<Row>): Promise<Row[]> =>
  (await query.execute(db)).rows

export function tasksWithTwoOpenAssignments(db: Db): Promise<Row[]> {
  return rows(
    db,
    sql`select task_id, count(*) as open_count from assignment
        where completed_at is null group by task_id having count(*) > 1`,
  )
}

export function personsWithTwoOpenAssignments(db: Db): Promise<Row[]> {
  return rows(
    db,
    sql`select person_id, count(*) as open_count from assignment
        where completed_at is null group by person_id having count(*) > 1`,
  )
}

/**
 * IN_PROGRESS exactly when one assignment is open, and then the task names that
 * assignment's inspector, who is logged in and busy.
 */
export function tasksDisagreeingWithOpenAssignment(db: Db): Promise<Row[]> {
  return rows(
    db,
    sql`select t.id, t.status, t.assigned_person_id, a.person_id as open_person_id,
               p.is_logged_in, p.is_busy
        from qc_task t
        left join assignment a on a.task_id = t.id and a.completed_at is null
        left join qc_person p on p.id = a.person_id
        where (t.status = 'IN_PROGRESS' and (a.id is null
                 or t.assigned_person_id is null or t.assigned_person_id <> a.person_id
                 or p.is_logged_in <> 1 or p.is_busy <> 1))
           or (t.status <> 'IN_PROGRESS' and a.id is not null)`,
  )
}

/** Busy exactly when one assignment is open; busy only while logged in. */
export function personsDisagreeingWithOpenAssignment(db: Db): Promise<Row[]> {
  return rows(
    db,
    sql`select p.id, p.is_logged_in, p.is_busy, count(a.id) as open_count
        from qc_person p
        left join assignment a on a.person_id = p.id and a.completed_at is null
        group by p.id, p.is_logged_in, p.is_busy
        having (p.is_busy = 1 and count(a.id) <> 1)
            or (p.is_busy = 0 and count(a.id) <> 0)
            or (p.is_busy = 1 and p.is_logged_in <> 1)`,
  )
}

/** DONE exactly when one assignment ended COMPLETED. */
export function tasksDisagreeingWithCompletion(db: Db): Promise<Row[]> {
  return rows(
    db,
    sql`select t.id, t.status, count(a.id) as completions
        from qc_task t
        left join assignment a on a.task_id = t.id and a.end_reason = 'COMPLETED'
        group by t.id, t.status
        having (t.status = 'DONE' and count(a.id) <> 1)
            or (t.status <> 'DONE' and count(a.id) <> 0)`,
  )
}

/** How many tasks wait and how many inspectors are free; both above 0 breaks the promise. */
export async function waitingWork(db: Db): Promise<{ pending: number; free: number }> {
  const [row] = await rows(
    db,
    sql`select
          (select count(*) from qc_task where status = 'PENDING') as pending,
          (select count(*) from qc_person where is_logged_in = 1 and is_busy = 0) as free`,
  )

  return { pending: Number(row?.pending), free: Number(row?.free) }
}

/** Every task whose description starts with `prefix`: its id and description. */
export async function tasksDescribed(
  db: Db,
  prefix: string,
): Promise<{ id: number; description: string }[]> {
  const found = await rows(
    db,
    sql`select id, description from qc_task where description like ${`${prefix}%`}`,
  )

  return found.map((row) => ({ id: Number(row.id), description: String(row.description) }))
}

/** Every rule above at once, named, for a final check after more changes. */
export async function allViolations(db: Db): Promise<Record<string, Row[]>> {
  return {
    tasksWithTwoOpenAssignments: await tasksWithTwoOpenAssignments(db),
    personsWithTwoOpenAssignments: await personsWithTwoOpenAssignments(db),
    tasksDisagreeingWithOpenAssignment: await tasksDisagreeingWithOpenAssignment(db),
    personsDisagreeingWithOpenAssignment: await personsDisagreeingWithOpenAssignment(db),
    tasksDisagreeingWithCompletion: await tasksDisagreeingWithCompletion(db),
  }
}
