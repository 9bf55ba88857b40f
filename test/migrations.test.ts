import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sql } from 'kysely'
import { MIGRATION_NAMES } from '../src/store/migrate.js'
import { Store } from '../src/store/store.js'
import { toDbTime } from '../src/store/time.js'
import { forEachStore, type StoreSuite, TestDatabase } from './support/stores.js'

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
