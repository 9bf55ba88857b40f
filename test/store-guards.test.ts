import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StoreName } from './support/stores.js'
import { forEachStore } from './support/stores.js'

const AT = '2026-03-02 08:00:00.000'
const LATER = '2026-03-02 08:05:00.000'

/**
 * The unique indexes on the generated open_task_id and open_person_id columns are the last
 * line of defence: whatever the service does, the database keeps one open assignment per
 * task and per inspector. These tests write rows straight through Kysely, past the service.
 */
forEachStore('database guards', (t) => {
  const db = () => t.service.store.db

  const person = async (name: string) =>
    Number(
      (
        await db()
          .insertInto('qc_person')
          .values({ name, is_logged_in: 1, created_at: AT })
          .executeTakeFirstOrThrow()
      ).insertId,
    )
  const task = async (description: string, createdAt = AT) =>
    Number(
      (
        await db()
          .insertInto('qc_task')
          .values({ description, status: 'IN_PROGRESS', created_at: createdAt })
          .executeTakeFirstOrThrow()
      ).insertId,
    )
  const open = (taskId: number, personId: number) =>
    db()
      .insertInto('assignment')
      .values({ task_id: taskId, person_id: personId, assigned_at: AT, start_reason: 'LOGIN' })
      .executeTakeFirstOrThrow()
  const close = (taskId: number) =>
    db()
      .updateTable('assignment')
      .set({ completed_at: LATER, end_reason: 'LOGOUT' })
      .where('task_id', '=', taskId)
      .where('completed_at', 'is', null)
      .executeTakeFirstOrThrow()
  const openRows = () =>
    db()
      .selectFrom('assignment')
      .select(['task_id', 'person_id'])
      .where('completed_at', 'is', null)
      .orderBy('id')
      .execute()

  test('the database refuses a second open assignment for the same task', async () => {
    const [ann, bob] = [await person('Ann'), await person('Bob')]
    const batch = await task('Inspect batch #1')
    await open(batch, ann)

    await assert.rejects(open(batch, bob), (error) => isUniqueViolation(t.kind, error))
    assert.deepEqual(await openRows(), [{ task_id: batch, person_id: ann }])
  })

  test('the database refuses a second open assignment for the same inspector', async () => {
    const ann = await person('Ann')
    const [first, second] = [await task('Inspect batch #1'), await task('Inspect batch #2')]
    await open(first, ann)

    await assert.rejects(open(second, ann), (error) => isUniqueViolation(t.kind, error))
    assert.deepEqual(await openRows(), [{ task_id: first, person_id: ann }])
  })

  test('a closed assignment and a new open one for the same pair coexist', async () => {
    const ann = await person('Ann')
    const batch = await task('Inspect batch #1')
    await open(batch, ann)
    await close(batch)

    await open(batch, ann)
    await close(batch)
    await open(batch, ann)

    const all = await db().selectFrom('assignment').select('completed_at').orderBy('id').execute()
    assert.deepEqual(
      all.map((row) => row.completed_at === null),
      [false, false, true],
    )
  })

  test('reopening a closed assignment while another is open is refused', async () => {
    const [ann, bob] = [await person('Ann'), await person('Bob')]
    const batch = await task('Inspect batch #1')
    await open(batch, ann)
    await close(batch)
    await open(batch, bob)

    const reopening = db()
      .updateTable('assignment')
      .set({ completed_at: null, end_reason: null })
      .where('person_id', '=', ann)
      .execute()

    await assert.rejects(reopening, (error) => isUniqueViolation(t.kind, error))
    assert.deepEqual(await openRows(), [{ task_id: batch, person_id: bob }])
  })

  test('pending tasks created at the same moment are listed, and paged, in id order', async () => {
    // Inserted out of time order, so id order and time order differ.
    const tied = [
      await pendingTask('Tied #1', LATER),
      await pendingTask('Tied #2', LATER),
      await pendingTask('Tied #3', LATER),
    ]
    const oldest = await pendingTask('Oldest', AT)

    const whole = await t.service.get('/tasks/pending')
    const paged: number[] = []
    let cursor: string | null = null
    for (let page = 0; page < 10; page++) {
      const query: string = cursor ? `&cursor=${cursor}` : ''
      const reply = await t.service.get(`/tasks/pending?limit=1${query}`)
      assert.equal(reply.status, 200)
      paged.push(...reply.body.items.map((item: { id: number }) => item.id))
      cursor = reply.body.next_cursor
      if (cursor === null) break
    }

    assert.deepEqual(
      whole.body.items.map((item: { id: number }) => item.id),
      [oldest, ...tied],
    )
    assert.deepEqual(paged, [oldest, ...tied])
  })

  async function pendingTask(description: string, createdAt: string): Promise<number> {
    const result = await db()
      .insertInto('qc_task')
      .values({ description, status: 'PENDING', created_at: createdAt })
      .executeTakeFirstOrThrow()

    return Number(result.insertId)
  }
})

/** A unique index refused the row: MariaDB's ER_DUP_ENTRY, SQLite's UNIQUE constraint. */
function isUniqueViolation(kind: StoreName, error: unknown): boolean {
  const { errno, code } = error as { errno?: unknown; code?: unknown }

  return kind === 'mariadb' ? errno === 1062 : code === 'SQLITE_CONSTRAINT_UNIQUE'
}
