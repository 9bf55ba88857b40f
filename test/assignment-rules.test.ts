import assert from 'node:assert/strict'
import { test } from 'node:test'
import { forEachStore } from './support/stores.js'

forEachStore('assignment rules', (t) => {
  const person = async (name: string) => (await t.service.post('/persons', { name })).body.id
  const login = (id: number) => t.service.post('/login', { person_id: id })
  const createTask = (description: string) => t.service.post('/tasks', { description })

  test('a task created while someone is free is IN_PROGRESS in the create response', async () => {
    const ann = await person('Ann')
    await login(ann)

    const created = await createTask('Inspect batch #1')

    assert.equal(created.status, 201)
    assert.equal(created.body.status, 'IN_PROGRESS')
    assert.equal(created.body.assigned_person_id, ann)
  })
})
