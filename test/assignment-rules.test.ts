import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { forEachStore } from './support/stores.js'

forEachStore('assignment rules', (t) => {
  const person = async (name: string): Promise<number> =>
    (await t.service.post('/persons', { name })).body.id
  const login = (id: number) => t.service.post('/login', { person_id: id })
  /** Free-since times have millisecond resolution; a pause keeps the order unambiguous. */
  const loginInOrder = async (...ids: number[]) => {
    for (const id of ids) {
      await login(id)
      await sleep(3)
    }
  }
  const logout = (id: number) => t.service.post('/logout', { person_id: id })
  const createTask = async (description: string) =>
    (await t.service.post('/tasks', { description })).body
  const complete = (id: number) => t.service.post(`/tasks/${id}/complete`)
  const pendingIds = async () =>
    (await t.service.get('/tasks/pending')).body.items.map((task: { id: number }) => task.id)
  const history = async (query: string) => (await t.service.get(`/assignments?${query}`)).body.items

  test('a task created while someone is free is IN_PROGRESS in the create response', async () => {
    const ann = await person('Ann')
    await login(ann)

    const created = await t.service.post('/tasks', { description: 'Inspect batch #1' })

    assert.equal(created.status, 201)
    assert.equal(created.body.status, 'IN_PROGRESS')
    assert.equal(created.body.assigned_person_id, ann)
  })

  test('a task created while nobody is free waits in the queue', async () => {
    await person('Ann')

    const task = await createTask('Inspect batch #1')

    assert.equal(task.status, 'PENDING')
    assert.deepEqual(await pendingIds(), [task.id])
  })

  test('logging in hands over the oldest pending task at once', async () => {
    const first = await createTask('first')
    await createTask('second')
    const ann = await person('Ann')

    const reply = await login(ann)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.person.state, 'busy')
    assert.equal(reply.body.task.id, first.id)
    assert.equal(reply.body.person.current_task_id, first.id)
  })

  test('completing returns the next task in the same response, oldest first', async () => {
    const ann = await person('Ann')
    const tasks = [await createTask('a'), await createTask('b'), await createTask('c')]
    await login(ann)

    const first = await complete(tasks[0].id)
    const second = await complete(tasks[1].id)
    const third = await complete(tasks[2].id)

    assert.equal(first.body.completed.status, 'DONE')
    assert.equal(first.body.next_task.id, tasks[1].id)
    assert.equal(first.body.next_task.status, 'IN_PROGRESS')
    assert.equal(second.body.next_task.id, tasks[2].id)
    assert.equal(third.body.next_task, null)
    assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'free')
  })

  test('the inspector free the longest gets the next task', async () => {
    const ann = await person('Ann')
    const bob = await person('Bob')
    const cid = await person('Cid')
    await loginInOrder(bob, ann, cid)

    const order = [await createTask('1'), await createTask('2'), await createTask('3')].map(
      (task) => task.assigned_person_id,
    )

    assert.deepEqual(order, [bob, ann, cid])
  })

  test('a completing inspector goes to the back of the free line', async () => {
    const ann = await person('Ann')
    const bob = await person('Bob')
    await loginInOrder(ann)
    const annTask = await createTask('for Ann')
    await loginInOrder(bob)

    await complete(annTask.id)
    const next = await createTask('next')

    assert.equal(next.assigned_person_id, bob, 'Bob has waited longer than Ann')
  })

  test('/persons/available lists free inspectors next-to-serve first', async () => {
    const ann = await person('Ann')
    const bob = await person('Bob')
    await loginInOrder(bob, ann)

    const available = (await t.service.get('/persons/available')).body.items

    assert.deepEqual(
      available.map((p: { id: number }) => p.id),
      [bob, ann],
    )
  })

  test('logging out puts the task back at its original place in the queue', async () => {
    const ann = await person('Ann')
    const first = await createTask('first')
    const second = await createTask('second')
    await login(ann)

    const reply = await logout(ann)

    assert.equal(reply.body.person.state, 'offline')
    assert.equal(reply.body.released_task.id, first.id)
    assert.equal(reply.body.released_task.status, 'PENDING')
    assert.equal(reply.body.released_task.assigned_person_id, null)
    assert.deepEqual(await pendingIds(), [first.id, second.id])
  })

  test('a released task goes straight to another free inspector', async () => {
    const ann = await person('Ann')
    const bob = await person('Bob')
    await login(ann)
    const task = await createTask('urgent')
    await login(bob)

    const reply = await logout(ann)

    assert.equal(reply.body.released_task.status, 'IN_PROGRESS')
    assert.equal(reply.body.released_task.assigned_person_id, bob)
    const [latest] = await history(`task_id=${task.id}`)
    assert.equal(latest.person_id, bob)
    assert.equal(latest.start_reason, 'RELEASE')
  })

  test('the history says why each assignment started and how it ended', async () => {
    const ann = await person('Ann')
    const waiting = await createTask('waiting')
    await login(ann)
    await complete(waiting.id)
    const fresh = await createTask('fresh')
    await createTask('queued')
    await complete(fresh.id)
    await logout(ann)

    const rows = (await history(`person_id=${ann}`)).reverse()

    assert.deepEqual(
      rows.map((row: { start_reason: string; end_reason: string }) => [
        row.start_reason,
        row.end_reason,
      ]),
      [
        ['LOGIN', 'COMPLETED'],
        ['TASK_CREATED', 'COMPLETED'],
        ['COMPLETION', 'LOGOUT'],
      ],
    )
    for (const row of rows) assert.ok(row.completed_at >= row.assigned_at)
  })

  test('logging in twice neither assigns twice nor loses the task', async () => {
    const ann = await person('Ann')
    const task = await createTask('one')
    await createTask('two')

    const first = await login(ann)
    const second = await login(ann)

    assert.equal(first.body.task.id, task.id)
    assert.equal(second.body.task.id, task.id)
    assert.equal((await history(`person_id=${ann}`)).length, 1)
  })

  test('the sweep assigns work that no request assigned', async () => {
    const ann = await person('Ann')
    await login(ann)
    // As a crashed instance might leave it: a pending task beside a free inspector.
    const db = t.service.store.db
    await db
      .insertInto('qc_task')
      .values({
        description: 'left behind',
        status: 'PENDING',
        created_at: '2026-01-01 00:00:00.000',
      })
      .execute()

    const result = await t.service.app.sweeper.sweepOnce()

    assert.deepEqual(result, { expired: 0, assigned: 1, keysForgotten: 0 })
    const [row] = await history(`person_id=${ann}`)
    assert.equal(row.start_reason, 'SWEEP')
  })

  test('an inspector whose heartbeat stopped is logged out and the task released', async () => {
    const ann = await person('Ann')
    const bob = await person('Bob')
    await login(ann)
    const task = await createTask('held by Ann')
    await login(bob)
    await t.service.store.db
      .updateTable('qc_person')
      .set({ last_heartbeat: '2026-01-01 00:00:00.000' })
      .where('id', '=', ann)
      .execute()

    const expired = await t.service.app.service.expireSilent(60)

    assert.equal(expired, 1)
    assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'offline')
    const [latest, previous] = await history(`task_id=${task.id}`)
    assert.equal(previous.end_reason, 'HEARTBEAT_EXPIRED')
    assert.equal(latest.person_id, bob)
  })

  test('a recent heartbeat keeps an inspector logged in through expiry', async () => {
    const ann = await person('Ann')
    await login(ann)
    await t.service.post('/heartbeat', { person_id: ann })

    const expired = await t.service.app.service.expireSilent(60)

    assert.equal(expired, 0)
    assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'free')
  })
  test('completing a task counts as a heartbeat', async () => {
    const ann = await person('Ann')
    await login(ann)
    const task = await createTask('one')
    await t.service.store.db
      .updateTable('qc_person')
      .set({ last_heartbeat: '2026-01-01 00:00:00.000' })
      .where('id', '=', ann)
      .execute()

    await complete(task.id)
    const expired = await t.service.app.service.expireSilent(60)

    assert.equal(expired, 0)
    assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'free')
  })
})
