// Bulk loading straight into the tables, in one statement per chunk (a recursive CTE makes
// the rows inside the database), so a million pending tasks take seconds, not an hour of
// HTTP. Seeded tasks are older than anything the service creates, and keep distinct times.
import type { BenchDb } from './database.js'

const CHUNK = 250_000
/** Seeded tasks start here, one millisecond apart; seeded free inspectors start later. */
const TASK_EPOCH = '2024-01-01 00:00:00'
const PERSON_EPOCH = '2024-06-01 00:00:00'

function sequence(db: BenchDb, insert: string, select: string): string {
  const cte = 'with recursive s(n) as (select 1 union all select n + 1 from s where n < ?)'

  return db.kind === 'mysql'
    ? `set statement max_recursive_iterations = ${CHUNK + 1} for ${insert} ${cte} ${select}`
    : `${cte} ${insert} ${select}`
}

/** An expression for `epoch` plus `offsetExpr` milliseconds, as the store keeps times. */
function epochPlusMs(db: BenchDb, epoch: string, offsetExpr: string): string {
  return db.kind === 'mysql'
    ? `date_add(timestamp'${epoch}', interval (${offsetExpr}) * 1000 microsecond)`
    : `strftime('%Y-%m-%d %H:%M:%f', '${epoch}', '+' || ((${offsetExpr}) / 1000.0) || ' seconds')`
}

function concat(db: BenchDb, ...parts: string[]): string {
  return db.kind === 'mysql' ? `concat(${parts.join(', ')})` : parts.join(' || ')
}

async function maxId(db: BenchDb, table: string): Promise<number> {
  const [row] = await db.query<{ id: number | null }>(`select max(id) as id from ${table}`)

  return Number(row?.id ?? 0)
}

/** Adds `count` pending tasks behind those already queued by seeding. */
export async function seedPendingTasks(db: BenchDb, count: number): Promise<void> {
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done)
    const offset = await maxId(db, 'qc_task')
    const sql = sequence(
      db,
      'insert into qc_task (description, status, created_at)',
      `select ${concat(db, "'seeded backlog task '", `(n + ${offset})`)}, 'PENDING', ` +
        `${epochPlusMs(db, TASK_EPOCH, `n + ${offset}`)} from s`,
    )
    await db.run(sql, [n])
  }
}

export type SeededState = 'offline' | 'free' | 'busy'

/**
 * Adds `count` inspectors named `<label>-<n>` in one state and returns their ids. Free ones
 * get distinct available_since times, older than any the service will stamp.
 */
export async function seedPersons(
  db: BenchDb,
  count: number,
  state: SeededState,
  label: string,
): Promise<number[]> {
  const first = (await maxId(db, 'qc_person')) + 1
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done)
    const loggedIn = state === 'offline' ? 0 : 1
    const busy = state === 'busy' ? 1 : 0
    const since = state === 'free' ? epochPlusMs(db, PERSON_EPOCH, `n + ${first + done}`) : 'null'
    const heartbeat = state === 'offline' ? 'null' : epochPlusMs(db, PERSON_EPOCH, '0')
    const sql = sequence(
      db,
      'insert into qc_person (name, is_logged_in, is_busy, available_since, last_heartbeat, ' +
        'created_at)',
      `select ${concat(db, `'${label}-'`, `(n + ${done})`)}, ${loggedIn}, ${busy}, ${since}, ` +
        `${heartbeat}, ${epochPlusMs(db, PERSON_EPOCH, '0')} from s`,
    )
    await db.run(sql, [n])
  }
  const rows = await db.query<{ id: number }>(
    'select id from qc_person where id >= ? order by id',
    [first],
  )

  return rows.map((row) => Number(row.id))
}

/**
 * Gives every busy inspector who holds nothing a task of their own: a new IN_PROGRESS task
 * and its open assignment, as if the sweep had paired them.
 */
export async function seedHeldTasks(db: BenchDb): Promise<void> {
  const now = epochPlusMs(db, PERSON_EPOCH, '1')
  await db.run(
    'insert into qc_task (description, status, created_at, assigned_person_id, assigned_at) ' +
      `select ${concat(db, "'seeded held task '", 'p.id')}, 'IN_PROGRESS', ${now}, p.id, ${now} ` +
      'from qc_person p left join assignment a on a.open_person_id = p.id ' +
      'where p.is_logged_in = 1 and p.is_busy = 1 and a.id is null',
  )
  await db.run(
    'insert into assignment (task_id, person_id, assigned_at, start_reason) ' +
      "select t.id, t.assigned_person_id, t.assigned_at, 'SWEEP' from qc_task t " +
      'left join assignment a on a.open_task_id = t.id ' +
      "where t.status = 'IN_PROGRESS' and a.id is null",
  )
}

export async function countPending(db: BenchDb): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    "select count(*) as n from qc_task where status = 'PENDING'",
  )

  return Number(row?.n ?? 0)
}

/** The task each inspector holds, by inspector id. */
export async function heldTasks(db: BenchDb, personIds: number[]): Promise<Map<number, number>> {
  const held = new Map<number, number>()
  for (let i = 0; i < personIds.length; i += 1000) {
    const ids = personIds.slice(i, i + 1000)
    const rows = await db.query<{ task_id: number; person_id: number }>(
      `select task_id, person_id from assignment where open_person_id in (${ids.map(() => '?')})`,
      ids,
    )
    for (const row of rows) held.set(Number(row.person_id), Number(row.task_id))
  }

  return held
}
