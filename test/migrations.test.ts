import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { type Kysely, type Migration, Migrator, sql } from 'kysely'
import { allViolations } from '../chaos/invariants.js'
import type { StoreDialect } from '../src/store/dialect.js'
import { MIGRATION_NAMES } from '../src/store/migrate.js'
import { initialSchema } from '../src/store/migrations/0001-initial-schema.js'
import { idempotencyKeys } from '../src/store/migrations/0002-idempotency-keys.js'
import { Store } from '../src/store/store.js'
import { toDbTime } from '../src/store/time.js'
import {
  forEachStore,
  type StoreName,
  type StoreSuite,
  TestDatabase,
  TestService,
} from './support/stores.js'

/**
 * Instances that start together each migrate the schema on boot. Every test here uses a
 * database of its own, never migrated, because the harness's database already is.
 */
forEachStore('migrations', (t) => {
  test('two migrations started at once both succeed and apply each migration once', async () => {
    await withFreshStores(t, async (first, second) => {
      const outcomes = await migrateBothAtOnce(first, second)

      assert.deepEqual(outcomes.sort(), [
        `applied ${MIGRATION_NAMES.join(', ')}`,
        'applied nothing',
      ])
      assert.deepEqual(
        await migrationRows(first),
        MIGRATION_NAMES.map((name) => ({ name, count: 1 })),
      )
    })
  })

  test('the tables two racing migrations leave behind hold a whole assignment', async () => {
    await withFreshStores(t, async (first, second) => {
      assert.deepEqual(
        (await migrateBothAtOnce(first, second)).filter((o) => o.startsWith('failed')),
        [],
      )
      const now = toDbTime(new Date())

      const personId = await first.persons.insert(first.db, {
        name: 'Ann',
        now,
        badgeCode: null,
        pinHash: null,
      })
      const taskId = await second.tasks.insert(second.db, {
        description: 'Inspect batch #1',
        now,
        createdBy: 'test',
      })
      await first.transaction(async (tx) => {
        await first.persons.markLoggedIn(tx, personId, now)
        await first.tasks.markInProgress(tx, taskId, personId, now)
        await first.persons.markBusy(tx, personId)
        await first.assignments.open(tx, { taskId, personId, now, reason: 'LOGIN', actor: 'test' })
      })

      const person = await second.persons.find(second.db, personId)
      assert.equal(person?.current_task_id, taskId)
    })
  })

  test('migrating an up-to-date database again applies nothing', async () => {
    await withFreshStores(t, async (first, second) => {
      await first.migrate()

      assert.deepEqual(await second.migrate(), { applied: [] })
      assert.deepEqual(await first.migrate(), { applied: [] })
      assert.deepEqual(
        await migrationRows(first),
        MIGRATION_NAMES.map((name) => ({ name, count: 1 })),
      )
    })
  })

  test('a store is not ready before migration and is ready after', async () => {
    await withFreshStores(t, async (store) => {
      assert.equal(await store.isReady(), false)

      await store.migrate()

      assert.equal(await store.isReady(), true)
    })
  })

  // Upgrading a database that already holds work: 0003 rebuilds qc_task on SQLite.

  test('upgrading a 0002 database keeps every row as it was, new columns empty', async () => {
    await withDatabaseAt0002(t, async ({ store }) => {
      const before = await dumpTables(store)

      const report = await store.migrate()

      assert.deepEqual(report.applied, MIGRATION_NAMES.slice(Object.keys(OLD_MIGRATIONS).length))
      const after = await dumpTables(store)
      for (const [table, rows] of Object.entries(before)) {
        const upgraded = after[table] ?? []
        assert.equal(upgraded.length, rows.length, `${table}: as many rows`)
        rows.forEach((row, i) => {
          const { kept, added } = splitColumns(upgraded[i] ?? {}, Object.keys(row))
          assert.deepEqual(kept, row, `${table} row ${i} is unchanged`)
          for (const [column, value] of Object.entries(added)) {
            assert.equal(value, null, `${table}.${column} is empty on an old row`)
          }
        })
      }
      assert.deepEqual(
        await migrationRows(store),
        MIGRATION_NAMES.map((name) => ({ name, count: 1 })),
      )
    })
  })

  test('after upgrading a 0002 database its foreign keys and status check still hold', async () => {
    await withDatabaseAt0002(t, async ({ store, seeded }) => {
      await store.migrate()
      const db = store.db
      const at = '2026-03-02 09:00:00.000'
      const missing = 999_999

      if (t.kind === 'sqlite') {
        assert.deepEqual((await sql`pragma foreign_key_check`.execute(db)).rows, [])
        assert.deepEqual((await sql`pragma integrity_check`.execute(db)).rows, [
          { integrity_check: 'ok' },
        ])
      }
      const refused = (error: unknown) => isForeignKeyViolation(t.kind, error)
      await assert.rejects(
        db
          .insertInto('assignment')
          .values({
            task_id: missing,
            person_id: seeded.bob,
            assigned_at: at,
            start_reason: 'LOGIN',
          })
          .execute(),
        refused,
        'an assignment for a missing task',
      )
      await assert.rejects(
        db
          .insertInto('idempotency_key')
          .values({
            key_value: 'orphan',
            request_digest: '0'.repeat(64),
            task_id: missing,
            created_at: at,
          })
          .execute(),
        refused,
        'an idempotency key for a missing task',
      )
      await assert.rejects(
        db
          .insertInto('qc_task')
          .values({
            description: 'x',
            status: 'IN_PROGRESS',
            created_at: at,
            assigned_person_id: missing,
          })
          .execute(),
        refused,
        'a task held by a missing inspector',
      )
      await assert.rejects(
        sql`update qc_task set status = 'ARCHIVED' where id = ${seeded.tasks.pending}`.execute(db),
        'a status the schema does not know',
      )
      await db
        .updateTable('qc_task')
        .set({ status: 'CANCELLED', completed_at: at })
        .where('id', '=', seeded.tasks.pending)
        .execute()
      const cancelled = await store.tasks.find(db, seeded.tasks.pending)
      assert.equal(cancelled?.status, 'CANCELLED')
    })
  })

  // On SQLite, 0003 rebuilds qc_task, and dropping a table forgets its AUTOINCREMENT counter.
  test('upgrading a 0002 database never hands out a deleted task id again', async () => {
    await withDatabaseAt0002(t, async ({ store, seeded }) => {
      const removed = await store.db
        .insertInto('qc_task')
        .values({ description: 'created by mistake', created_at: '2026-03-02 08:50:00.000' })
        .executeTakeFirstOrThrow()
      await store.db.deleteFrom('qc_task').where('id', '=', Number(removed.insertId)).execute()
      assert.ok(Number(removed.insertId) > seeded.highestTaskId)

      await store.migrate()
      const next = await store.tasks.insert(store.db, {
        description: 'after the upgrade',
        now: '2026-03-02 09:00:00.000',
        createdBy: 'test',
      })

      assert.ok(
        next > Number(removed.insertId),
        `the deleted task's id ${removed.insertId} came back`,
      )
    })
  })

  test('an instance starting on a 0002 database upgrades it and serves the old work', async () => {
    await withDatabaseAt0002(t, async ({ database, seeded }) => {
      const service = await TestService.start(database.url)
      try {
        const { tasks, ann } = seeded

        const pendingCancelled = await service.post(`/tasks/${tasks.pending}/cancel`)
        const heldCancelled = await service.post(`/tasks/${tasks.heldByAnn}/cancel`)
        const doneCancelled = await service.post(`/tasks/${tasks.done}/cancel`)
        const created = await service.post('/tasks', { description: 'after the upgrade' })
        const replayed = await service.post(
          '/tasks',
          { description: DONE_DESCRIPTION },
          { 'idempotency-key': 'order-17' },
        )

        assert.equal(pendingCancelled.status, 200)
        assert.equal(pendingCancelled.body.status, 'CANCELLED')
        assert.equal(heldCancelled.body.status, 'CANCELLED')
        assert.equal(doneCancelled.status, 409)
        assert.equal(doneCancelled.body.code, 'TASK_ALREADY_DONE')
        const annNow = (await service.get(`/persons/${ann}`)).body
        assert.equal(annNow.current_task_id, tasks.released, 'Ann got the oldest pending task')
        // Its one assignment, opened before the upgrade (no actor then), ended by the cancel.
        const history = (await service.get(`/assignments?task_id=${tasks.heldByAnn}`)).body.items
        assert.deepEqual(
          history.map((a: Record<string, unknown>) => [a.person_id, a.end_reason, a.ended_by]),
          [[ann, 'CANCELLED', 'admin:env']],
        )
        assert.equal(history[0].started_by, null)
        assert.equal(created.status, 201)
        assert.equal(created.body.id, seeded.highestTaskId + 1, 'task ids continue')
        assert.equal(replayed.headers['idempotent-replayed'], 'true')
        assert.equal(replayed.body.id, tasks.done, 'an old idempotency key still replays')
        for (const [rule, rows] of Object.entries(await allViolations(service.store.db))) {
          assert.deepEqual(rows, [], rule)
        }
      } finally {
        await service.stop()
      }
    })
  })
})

/**
 * Two stores (separate pools, like two instances) on one new, empty database. On SQLite both
 * live in this one process, where a connection waiting for the file's write lock blocks the
 * event loop, and with it the holder, until its busy timeout; a short one keeps that brief.
 */
async function withFreshStores(
  t: StoreSuite,
  use: (first: Store, second: Store) => Promise<void>,
): Promise<void> {
  const database = await TestDatabase.create(t.kind)
  const lockWaitTimeoutS = t.kind === 'sqlite' ? 1 : 5
  const open = () => Store.open({ url: database.url, poolSize: 4, lockWaitTimeoutS })
  const [first, second] = [open(), open()]
  try {
    await use(first, second)
  } finally {
    await first.close()
    await second.close()
    await database.drop()
  }
}

/** What each of two migrations started together did, in words a failure message can show. */
async function migrateBothAtOnce(first: Store, second: Store): Promise<string[]> {
  const outcomes = await Promise.allSettled([first.migrate(), second.migrate()])

  return outcomes.map((outcome) =>
    outcome.status === 'rejected'
      ? `failed: ${String(outcome.reason)}`
      : `applied ${outcome.value.applied.join(', ') || 'nothing'}`,
  )
}

async function migrationRows(store: Store): Promise<{ name: string; count: number }[]> {
  const { rows } = await sql<{ name: string; count: number | string }>`
    select name, count(*) as count from kysely_migration group by name order by name
  `.execute(store.db)

  return rows.map((row) => ({ name: row.name, count: Number(row.count) }))
}

/**
 * The migrations up to '0002-idempotency-keys', the schema of the last release before
 * 0003. src/store/migrate.ts does not export its list; these are the same modules.
 */
const OLD_MIGRATIONS: Record<string, (dialect: StoreDialect) => Migration> = {
  '0001-initial-schema': initialSchema,
  '0002-idempotency-keys': idempotencyKeys,
}

const DONE_DESCRIPTION = 'Prüfung Charge #1 — Maße ✓'

interface Seeded {
  ann: number
  bob: number
  cid: number
  tasks: { done: number; heldByAnn: number; heldByCid: number; released: number; pending: number }
  highestTaskId: number
}

/**
 * A new database migrated to '0002-idempotency-keys' only, holding what a running service
 * leaves behind: inspectors offline and busy, a task in each status, open and closed
 * assignments, and idempotency keys (two differing only in case).
 */
async function withDatabaseAt0002(
  t: StoreSuite,
  use: (context: { database: TestDatabase; store: Store; seeded: Seeded }) => Promise<void>,
): Promise<void> {
  assert.deepEqual(
    MIGRATION_NAMES.slice(0, 2),
    Object.keys(OLD_MIGRATIONS),
    'the old migrations are the first ones the service lists',
  )
  const database = await TestDatabase.create(t.kind)
  const store = Store.open({ url: database.url, poolSize: 4, lockWaitTimeoutS: 5 })
  try {
    const migrator = new Migrator({
      db: store.db as Kysely<unknown>,
      provider: {
        getMigrations: async () =>
          Object.fromEntries(
            Object.entries(OLD_MIGRATIONS).map(([name, make]) => [name, make(store.dialect)]),
          ),
      },
    })
    const { error, results = [] } = await migrator.migrateTo('0002-idempotency-keys')
    if (error) throw error
    assert.deepEqual(
      results.map((result) => result.migrationName),
      Object.keys(OLD_MIGRATIONS),
    )

    await use({ database, store, seeded: await seedOldSchema(store) })
  } finally {
    await store.close()
    await database.drop()
  }
}

/** Rows written with the 0002 columns only, as the service of that release wrote them. */
async function seedOldSchema(store: Store): Promise<Seeded> {
  const db = store.db
  const at = (minute: number) => `2026-03-02 08:${String(minute).padStart(2, '0')}:00.125`
  const insert = async (query: { executeTakeFirstOrThrow(): Promise<{ insertId?: bigint }> }) =>
    Number((await query.executeTakeFirstOrThrow()).insertId)

  const person = (name: string, loggedIn: boolean, busy: boolean) =>
    insert(
      db.insertInto('qc_person').values({
        name,
        is_logged_in: loggedIn ? 1 : 0,
        is_busy: busy ? 1 : 0,
        last_heartbeat: loggedIn ? at(30) : null,
        available_since: null,
        created_at: at(0),
      }),
    )
  const ann = await person('Ann', true, true)
  const bob = await person('Bob', false, false)
  const cid = await person('Cid', true, true)

  const task = (
    description: string,
    minute: number,
    status: 'PENDING' | 'IN_PROGRESS' | 'DONE',
    holder: number | null = null,
  ) =>
    insert(
      db.insertInto('qc_task').values({
        description,
        status,
        created_at: at(minute),
        assigned_person_id: holder,
        assigned_at: holder === null ? null : at(minute + 10),
        completed_at: status === 'DONE' ? at(minute + 20) : null,
      }),
    )
  const done = await task(DONE_DESCRIPTION, 1, 'DONE', bob)
  const heldByAnn = await task('Inspect batch #2 🔍', 2, 'IN_PROGRESS', ann)
  const heldByCid = await task('Inspect batch #3', 3, 'IN_PROGRESS', cid)
  const released = await task('Inspect batch #4, released when Bob logged out', 4, 'PENDING')
  const pending = await task('Inspect batch #5', 5, 'PENDING')

  const assignment = (
    taskId: number,
    personId: number,
    minute: number,
    start: 'LOGIN' | 'TASK_CREATED' | 'COMPLETION',
    end: 'COMPLETED' | 'LOGOUT' | null,
  ) =>
    insert(
      db.insertInto('assignment').values({
        task_id: taskId,
        person_id: personId,
        assigned_at: at(minute),
        completed_at: end === null ? null : at(minute + 5),
        start_reason: start,
        end_reason: end,
      }),
    )
  await assignment(done, bob, 11, 'LOGIN', 'COMPLETED')
  await assignment(released, bob, 16, 'COMPLETION', 'LOGOUT')
  await assignment(heldByAnn, ann, 12, 'LOGIN', null)
  await assignment(heldByCid, cid, 13, 'TASK_CREATED', null)

  const key = (value: string, taskId: number, description: string) =>
    db
      .insertInto('idempotency_key')
      .values({
        key_value: value,
        request_digest: createHash('sha256').update(description).digest('hex'),
        task_id: taskId,
        created_at: at(40),
      })
      .execute()
  await key('order-17', done, DONE_DESCRIPTION)
  await key('Order-17', released, 'Inspect batch #4, released when Bob logged out')
  await key('retry-5', pending, 'Inspect batch #5')

  return {
    ann,
    bob,
    cid,
    tasks: { done, heldByAnn, heldByCid, released, pending },
    highestTaskId: pending,
  }
}

/** Every row of the tables that existed before 0003, in a stable order. */
async function dumpTables(store: Store): Promise<Record<string, Record<string, unknown>[]>> {
  const db = store.db

  return {
    qc_person: await db.selectFrom('qc_person').selectAll().orderBy('id').execute(),
    qc_task: await db.selectFrom('qc_task').selectAll().orderBy('id').execute(),
    assignment: await db.selectFrom('assignment').selectAll().orderBy('id').execute(),
    idempotency_key: await db
      .selectFrom('idempotency_key')
      .selectAll()
      .orderBy('key_value')
      .execute(),
  }
}

/** The columns a row had before, and those a migration added since. */
function splitColumns(row: Record<string, unknown>, oldColumns: string[]) {
  const kept: Record<string, unknown> = {}
  const added: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) {
    if (oldColumns.includes(column)) kept[column] = value
    else added[column] = value
  }

  return { kept, added }
}

/** A foreign key refused the row: MariaDB's ER_NO_REFERENCED_ROW_2, SQLite's FOREIGNKEY. */
function isForeignKeyViolation(kind: StoreName, error: unknown): boolean {
  const { errno, code } = error as { errno?: unknown; code?: unknown }

  return kind === 'mariadb' ? errno === 1452 : code === 'SQLITE_CONSTRAINT_FOREIGNKEY'
}
