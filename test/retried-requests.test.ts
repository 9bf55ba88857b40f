import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertProblem } from './support/problems.js'
import { forEachStore } from './support/stores.js'

forEachStore('retried requests', (t) => {
  const create = (description: string, key?: string) =>
    t.service.post('/tasks', { description }, key ? { 'idempotency-key': key } : {})
  const taskCount = async () => (await t.service.snapshot()).tasks.length

  test('a retry with the same Idempotency-Key returns the first task, creating none', async () => {
    const first = await create('Inspect batch #7', 'mes-order-7')
    const retry = await create('Inspect batch #7', 'mes-order-7')

    assert.equal(first.status, 201)
    assert.equal(first.headers['idempotent-replayed'], undefined)
    assert.equal(retry.status, 201)
    assert.equal(retry.headers['idempotent-replayed'], 'true')
    assert.equal(retry.body.id, first.body.id)
    assert.equal(await taskCount(), 1)
  })

  test('a replay shows the task as it is now, assigned or not', async () => {
    const first = await create('Inspect batch #8', 'mes-order-8')
    const ann = (await t.service.post('/persons', { name: 'Ann' })).body.id
    await t.service.post('/login', { person_id: ann })

    const retry = await create('Inspect batch #8', 'mes-order-8')

    assert.equal(first.body.status, 'PENDING')
    assert.equal(retry.body.status, 'IN_PROGRESS')
    assert.equal(retry.body.assigned_person_id, ann)
  })

  test('the same key with another description answers 422 and changes nothing', async () => {
    await create('Inspect batch #9', 'mes-order-9')
    const before = await t.service.snapshot()

    const reused = await create('Inspect batch #10', 'mes-order-9')

    assertProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED')
    assert.match(reused.body.detail, /mes-order-9/)
    assert.deepEqual(await t.service.snapshot(), before)
  })

  test('different keys create different tasks, and no key creates each time', async () => {
    await create('same text', 'key-a')
    await create('same text', 'key-b')
    await create('same text')
    await create('same text')

    assert.equal(await taskCount(), 4)
  })

  test('ten simultaneous retries with one key create exactly one task', async () => {
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => create('Inspect batch #11', 'burst-key')),
    )

    assert.ok(replies.every((reply) => reply.status === 201))
    assert.equal(new Set(replies.map((reply) => reply.body.id)).size, 1)
    assert.equal(await taskCount(), 1)
  })

  test('a malformed Idempotency-Key answers 400 and creates nothing', async () => {
    for (const key of ['has space', 'x'.repeat(201), 'ünïcode']) {
      assertProblem(await create('Inspect', key), 400, 'VALIDATION_FAILED')
    }

    assert.equal(await taskCount(), 0)
  })

  test('keys older than their time are forgotten by the sweep, and reusable after', async () => {
    await create('old order', 'old-key')
    await t.service.store.db
      .updateTable('idempotency_key')
      .set({ created_at: '2026-01-01 00:00:00.000' })
      .execute()

    const result = await t.service.app.sweeper.sweepOnce()
    const again = await create('a new order', 'old-key')

    assert.equal(result.keysForgotten, 1)
    assert.equal(again.status, 201)
    assert.equal(again.headers['idempotent-replayed'], undefined)
    assert.equal(await taskCount(), 2)
  })

  test('completing again as the inspector who completed it answers the same, plainly', async () => {
    const ann = (await t.service.post('/persons', { name: 'Ann' })).body.id
    await t.service.post('/login', { person_id: ann })
    const task = (await create('first')).body
    await create('second')

    const done = await t.service.post(`/tasks/${task.id}/complete`, { person_id: ann })
    const retry = await t.service.post(`/tasks/${task.id}/complete`, { person_id: ann })

    assert.equal(done.body.already_completed, false)
    assert.equal(retry.status, 200)
    assert.equal(retry.body.already_completed, true)
    assert.equal(retry.body.completed.status, 'DONE')
    assert.equal(retry.body.next_task.id, done.body.next_task.id)
    assert.equal((await t.service.get(`/assignments?task_id=${task.id}`)).body.items.length, 1)
  })

  test('completing a task another inspector holds or did answers 409 naming them', async () => {
    const ann = (await t.service.post('/persons', { name: 'Ann' })).body.id
    const bob = (await t.service.post('/persons', { name: 'Bob' })).body.id
    await t.service.post('/login', { person_id: ann })
    const task = (await create('for Ann')).body
    const before = await t.service.snapshot()

    const notYours = await t.service.post(`/tasks/${task.id}/complete`, { person_id: bob })
    assert.deepEqual(await t.service.snapshot(), before)
    await t.service.post(`/tasks/${task.id}/complete`, { person_id: ann })
    const doneByAnn = await t.service.post(`/tasks/${task.id}/complete`, { person_id: bob })
    const anonymous = await t.service.post(`/tasks/${task.id}/complete`)

    assertProblem(notYours, 409, 'NOT_YOUR_TASK')
    assert.match(notYours.body.detail, new RegExp(`inspector ${ann}`))
    assertProblem(doneByAnn, 409, 'TASK_ALREADY_DONE')
    assertProblem(anonymous, 409, 'TASK_ALREADY_DONE')
  })
  test('keys that differ only in letter case are different keys, on every store', async () => {
    const lower = await create('first', 'k-abc')
    const upper = await create('second', 'k-ABC')

    assert.equal(upper.status, 201)
    assert.equal(upper.headers['idempotent-replayed'], undefined)
    assert.notEqual(upper.body.id, lower.body.id)
    assert.equal(await taskCount(), 2)
  })
})
