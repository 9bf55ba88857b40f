// The floor of the completion cycle: the transaction the service runs for one completion,
// the same SQL (captured-sql.ts) in the same order, sent straight through the driver with
// nothing else around it: no HTTP, no Kysely, no validation, no logging, no metrics.
import { setTimeout as sleep } from 'node:timers/promises'
import SqliteDatabase from 'better-sqlite3'
import { createPool, type Pool } from 'mysql2/promise'
import { toDbTime } from '../src/store/time.js'
import { completionTemplates, fill, type Slot, type Template } from './captured-sql.js'

export interface FloorInspector {
  personId: number
  /** The task they hold, or null when the last round gave their next task to someone else. */
  taskId: number | null
}

export interface Floor {
  /** Completes the inspector's task and takes the next one; false when they held nothing. */
  complete(inspector: FloorInspector): Promise<boolean>
  readonly retries: number
  close(): Promise<void>
}

type Row = Record<string, unknown>
type Exec = (template: Template, values: Record<Slot, unknown>) => Promise<Row[] | number>

const RETRYABLE_ERRNO = new Set([1213, 1205, 1062])
const MAX_ATTEMPTS = 6

class LostRace extends Error {}

/**
 * One completion, as completeTask and one round of assignWaitingWork run it. Returns the
 * task the same inspector got, or null when the claim paired someone else (or nobody).
 */
async function completion(
  steps: Map<string, Template>,
  exec: Exec,
  inspector: FloorInspector & { taskId: number },
): Promise<number | null> {
  const step = (name: string) => {
    const template = steps.get(name)
    if (!template) throw new Error(`no captured query named ${name}`)

    return template
  }
  const values: Record<Slot, unknown> = {
    task: inspector.taskId,
    person: inspector.personId,
    nextTask: null,
    nextPerson: null,
    now: toDbTime(new Date()),
  }
  const rows = async (name: string) => (await exec(step(name), values)) as Row[]
  const one = async (name: string) => {
    if ((await exec(step(name), values)) !== 1) throw new LostRace(name)
  }

  const [seen] = await rows('find task')
  if (seen?.status !== 'IN_PROGRESS' || Number(seen.assigned_person_id) !== inspector.personId) {
    throw new Error(`task ${inspector.taskId} is not held by ${inspector.personId}`)
  }
  await rows('lock person')
  await rows('lock task')
  await one('mark done')
  await one('close assignment')
  await one('free person')
  const [person] = await rows('claim person')
  if (!person) return null
  const [task] = await rows('claim task')
  if (!task) return null
  values.nextPerson = Number(person.id)
  values.nextTask = Number(task.id)
  await one('mark in progress')
  await one('mark busy')
  await exec(step('open assignment'), values)
  await exec(step('record events'), values)

  return values.nextPerson === inspector.personId ? Number(task.id) : null
}

/** The service's own MySQL session settings (src/store/dialects/mysql.ts), on each connection. */
const SESSION = [
  "set session time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE," +
    "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO', innodb_lock_wait_timeout = 5",
  'set session transaction isolation level read committed',
]

export async function mysqlFloor(url: string, connections: number): Promise<Floor> {
  const steps = new Map((await completionTemplates('mysql')).map((t) => [t.name, t]))
  const pool: Pool = createPool({
    uri: url,
    connectionLimit: connections,
    charset: 'utf8mb4_unicode_ci',
    dateStrings: true,
    timezone: 'Z',
    connectTimeout: 5000,
  })
  // Once per new connection, as the service's onCreateConnection does.
  pool.pool.on('connection', (connection) => {
    for (const statement of SESSION) connection.query(statement)
  })
  let retries = 0

  const attempt = async (inspector: FloorInspector & { taskId: number }) => {
    const connection = await pool.getConnection()
    try {
      const exec: Exec = async (template, values) => {
        const [result] = await connection.query(template.sql, fill(template, values))

        return Array.isArray(result)
          ? (result as Row[])
          : (result as { affectedRows: number }).affectedRows
      }
      await connection.query('begin')
      try {
        const next = await completion(steps, exec, inspector)
        await connection.query('commit')

        return next
      } catch (error) {
        await connection.query('rollback')
        throw error
      }
    } finally {
      connection.release()
    }
  }

  return {
    get retries() {
      return retries
    },
    async complete(inspector) {
      const held = inspector.taskId ?? (await heldBy(pool, inspector.personId))
      if (held === null) return false
      const holding = { ...inspector, taskId: held }
      for (let attemptNumber = 1; ; attemptNumber++) {
        try {
          inspector.taskId = await attempt(holding)

          return true
        } catch (error) {
          const errno = (error as { errno?: number }).errno
          const retryable = error instanceof LostRace || RETRYABLE_ERRNO.has(errno ?? 0)
          if (!retryable || attemptNumber >= MAX_ATTEMPTS) throw error
          retries++
          await sleep(Math.random() * 5 * 2 ** (attemptNumber - 1))
        }
      }
    },
    close: () => pool.end(),
  }
}

async function heldBy(pool: Pool, personId: number): Promise<number | null> {
  const [rows] = await pool.query('select task_id from assignment where open_person_id = ?', [
    personId,
  ])
  const row = (rows as Row[])[0]

  return row ? Number(row.task_id) : null
}

/**
 * SQLite: one connection, as the service holds, with its pragmas; statements prepared once.
 * Callers must run one completion at a time (one worker): the connection has one
 * transaction, and completions that interleave at an await would nest BEGINs.
 */
export async function sqliteFloor(path: string): Promise<Floor> {
  const steps = new Map((await completionTemplates('sqlite')).map((t) => [t.name, t]))
  const db = new SqliteDatabase(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  const statements = new Map<string, SqliteDatabase.Statement>()
  const statement = (sql: string) => {
    let prepared = statements.get(sql)
    if (!prepared) {
      prepared = db.prepare(sql)
      statements.set(sql, prepared)
    }

    return prepared
  }
  const exec: Exec = async (template, values) => {
    const prepared = statement(template.sql)
    const params = fill(template, values)

    return prepared.reader ? (prepared.all(...params) as Row[]) : prepared.run(...params).changes
  }
  const held = statement('select task_id from assignment where open_person_id = ?')

  return {
    retries: 0,
    async complete(inspector) {
      const row = inspector.taskId === null ? (held.get(inspector.personId) as Row) : undefined
      const taskId = inspector.taskId ?? (row ? Number(row.task_id) : null)
      if (taskId === null) return false
      statement('begin immediate').run()
      try {
        inspector.taskId = await completion(steps, exec, { ...inspector, taskId })
        statement('commit').run()
      } catch (error) {
        statement('rollback').run()
        throw error
      }

      return true
    },
    async close() {
      db.close()
    },
  }
}
