// The service's own SQL, taken from its query builders rather than copied: each query class
// method of src/store runs once against a Kysely whose driver records the compiled query and
// answers with a stand-in row. The floor (floor.ts) and the query-plan test run exactly this.
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Transaction,
} from 'kysely'
import { AssignmentQueries } from '../src/store/assignments.js'
import type { StoreDialect } from '../src/store/dialect.js'
import { mysqlDialect } from '../src/store/dialects/mysql.js'
import { sqliteDialect } from '../src/store/dialects/sqlite.js'
import { EventQueries } from '../src/store/events.js'
import { PersonQueries } from '../src/store/persons.js'
import type { Database } from '../src/store/schema.js'
import { TaskQueries } from '../src/store/tasks.js'

export type StoreKind = 'mysql' | 'sqlite'

/** Stand-in values, recognised in the compiled parameters and turned into slots. */
const SENTINEL = {
  task: 987_654_321,
  person: 876_543_219,
  nextTask: 765_432_198,
  nextPerson: 654_321_987,
  now: '2099-12-31 23:59:58.765',
} as const

export type Slot = keyof typeof SENTINEL

/** A compiled query whose parameters are either constants or named slots to fill. */
export interface Template {
  name: string
  sql: string
  params: ({ slot: Slot } | { value: unknown })[]
}

export function fill(template: Template, values: Record<Slot, unknown>): unknown[] {
  return template.params.map((p) => ('slot' in p ? values[p.slot] : p.value))
}

class RecordingConnection implements DatabaseConnection {
  constructor(private readonly sink: CompiledQuery[]) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.sink.push(query)
    const row = { id: 1, status: 'IN_PROGRESS', assigned_person_id: 1 } as R

    return { rows: [row], numAffectedRows: 1n, insertId: 1n }
  }

  // biome-ignore lint/correctness/useYield: the recorder never streams
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the recorder does not stream')
  }
}

class RecordingDriver implements Driver {
  constructor(private readonly sink: CompiledQuery[]) {}
  async init() {}
  async acquireConnection() {
    return new RecordingConnection(this.sink)
  }
  async beginTransaction() {}
  async commitTransaction() {}
  async rollbackTransaction() {}
  async releaseConnection() {}
  async destroy() {}
}

function recorder(kind: StoreKind, sink: CompiledQuery[]): Kysely<Database> {
  const dialect: Dialect = {
    createAdapter: () => (kind === 'mysql' ? new MysqlAdapter() : new SqliteAdapter()),
    createDriver: () => new RecordingDriver(sink),
    createIntrospector: (db) =>
      kind === 'mysql' ? new MysqlIntrospector(db) : new SqliteIntrospector(db),
    createQueryCompiler: () =>
      kind === 'mysql' ? new MysqlQueryCompiler() : new SqliteQueryCompiler(),
  }

  return new Kysely<Database>({ dialect })
}

/** The store dialect of the service, built without opening any connection. */
export function storeDialect(kind: StoreKind): StoreDialect {
  return kind === 'mysql'
    ? mysqlDialect({ url: 'mysql://capture@127.0.0.1/capture', poolSize: 1, lockWaitTimeoutS: 5 })
    : sqliteDialect({ path: ':memory:', busyTimeoutMs: 5000 })
}

type Step = (tx: Transaction<Database>) => Promise<unknown>

/** Runs each step against the recorder; each must issue exactly one query. */
async function capture(kind: StoreKind, steps: [string, Step][]): Promise<Template[]> {
  const sink: CompiledQuery[] = []
  const db = recorder(kind, sink)
  const templates: Template[] = []
  await db.transaction().execute(async (tx) => {
    for (const [name, step] of steps) {
      const before = sink.length
      await step(tx)
      const query = sink[before]
      if (sink.length !== before + 1 || !query) {
        throw new Error(`${name} issued ${sink.length - before} queries; expected one`)
      }
      templates.push({ name, sql: query.sql, params: query.parameters.map(toSlot) })
    }
  })
  await db.destroy()

  return templates
}

function toSlot(value: unknown): { slot: Slot } | { value: unknown } {
  const slot = (Object.keys(SENTINEL) as Slot[]).find((key) => SENTINEL[key] === value)

  return slot ? { slot } : { value }
}

/** Any actor: the SQL is the same for all. */
const ACTOR = 'person:1'

/**
 * What the service runs for one completion that hands the same inspector the next task,
 * in its order (AssignmentService.completeTask, then one round of assignWaitingWork).
 */
export function completionTemplates(kind: StoreKind): Promise<Template[]> {
  const dialect = storeDialect(kind)
  const tasks = new TaskQueries(dialect)
  const persons = new PersonQueries(dialect)
  const assignments = new AssignmentQueries()
  const { task, person, nextTask, nextPerson, now } = SENTINEL
  const opening = {
    taskId: nextTask,
    personId: nextPerson,
    now,
    reason: 'COMPLETION' as const,
    actor: ACTOR,
  }

  return capture(kind, [
    ['find task', (tx) => tasks.find(tx, task)],
    ['lock person', (tx) => persons.lock(tx, person)],
    ['lock task', (tx) => tasks.lock(tx, task)],
    ['mark done', (tx) => tasks.markDone(tx, task, now)],
    ['close assignment', (tx) => assignments.close(tx, task, now, 'COMPLETED', ACTOR)],
    ['free person', (tx) => persons.markFree(tx, person, now)],
    ['claim person', (tx) => persons.claimLongestFree(tx)],
    ['claim task', (tx) => tasks.claimOldestPending(tx)],
    ['mark in progress', (tx) => tasks.markInProgress(tx, nextTask, nextPerson, now)],
    ['mark busy', (tx) => persons.markBusy(tx, nextPerson)],
    ['open assignment', (tx) => assignments.open(tx, opening)],
    // The audit trail: the completion and the new assignment, in one insert.
    [
      'record events',
      (tx) =>
        new EventQueries().append(tx, [
          eventRow('task_completed', task, person, null),
          eventRow('task_assigned', nextTask, nextPerson, 'COMPLETION'),
        ]),
    ],
  ])
}

function eventRow(type: string, taskId: number, personId: number, detail: string | null) {
  return {
    occurred_at: SENTINEL.now,
    type,
    actor: ACTOR,
    task_id: taskId,
    person_id: personId,
    detail,
  }
}

/** The two claims that pick the next inspector and the next task. */
export async function claimTemplates(
  kind: StoreKind,
): Promise<{ person: Template; task: Template }> {
  const dialect = storeDialect(kind)
  const tasks = new TaskQueries(dialect)
  const persons = new PersonQueries(dialect)
  const [person, task] = await capture(kind, [
    ['claim person', (tx) => persons.claimLongestFree(tx)],
    ['claim task', (tx) => tasks.claimOldestPending(tx)],
  ])
  if (!person || !task) throw new Error('the claims were not captured')

  return { person, task }
}
