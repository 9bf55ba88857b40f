// GET /events: live events across instances, catching up after a dropped connection, and
// inspectors seeing only their own.
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { ADMIN_AUTH } from './support/credentials.js'
import { EventClient } from './support/event-client.js'
import { forEachStore, TestService } from './support/stores.js'

forEachStore('the live event stream', (t) => {
  let second: TestService | undefined
  let port = 0
  const streams: EventClient[] = []
  const open = async (headers: Record<string, string> = ADMIN_AUTH) => {
    const client = await EventClient.open(port, headers)
    streams.push(client)
    return client
  }
  const types = (client: EventClient) => client.events.map((event) => event.type)

  before(async () => {
    await t.service.app.server.listen({ host: '127.0.0.1', port: 0 })
    port = (t.service.app.server.server.address() as AddressInfo).port
    // A second instance on the same database: what it does must reach streams on the first.
    second = await TestService.start(t.databaseUrl, { EVENT_POLL_MS: '50' })
  })
  after(async () => {
    for (const stream of streams) stream.close()
    await second?.stop()
  })

  test('an event made on another instance reaches a stream within a second', async () => {
    const stream = await open()
    const person = (await second?.post('/persons', { name: 'Ann' }))?.body.id
    await second?.post('/login', { person_id: person })
    const started = Date.now()
    await second?.post('/tasks', { description: 'Inspect' })

    await stream.until(() => types(stream).includes('task_assigned'), 'task_assigned', 2000)

    assert.ok(Date.now() - started < 1000, `seen after ${Date.now() - started} ms`)
    assert.deepEqual(types(stream), [
      'person_created',
      'person_logged_in',
      'task_created',
      'task_assigned',
    ])
  })

  test('a client reconnecting with Last-Event-ID gets what it missed, once', async () => {
    const first = await open()
    await t.service.post('/persons', { name: 'Ann' })
    await first.until(() => first.events.length === 1, 'the first event')
    first.close()
    const lastId = first.events[0]?.id ?? 0
    await t.service.post('/persons', { name: 'Bob' })
    await t.service.post('/persons', { name: 'Cem' })

    const again = await open({ ...ADMIN_AUTH, 'last-event-id': String(lastId) })
    await again.until(() => again.events.length >= 2, 'the missed events')
    await t.service.post('/tasks', { description: 'After' })
    await again.until(() => again.events.length >= 3, 'the live event')

    assert.deepEqual(types(again), ['person_created', 'person_created', 'task_created'])
    const ids = again.events.map((event) => event.id)
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    )
    assert.ok(ids.every((id) => id > lastId))
  })

  test("an inspector's stream carries only their own events", async () => {
    const ann = (await t.service.post('/persons', { name: 'Ann', pin: '1234' })).body.id
    const bob = (await t.service.post('/persons', { name: 'Bob' })).body.id
    const signedIn = await t.service.request(
      'POST',
      '/login',
      { person_id: ann, pin: '1234' },
      { authorization: '' },
    )
    const token = signedIn.body.session.token
    const mine = await open({ authorization: `Bearer ${token}` })

    await t.service.post('/login', { person_id: bob })
    await t.service.post('/tasks', { description: 'For Ann' })
    await t.service.post('/tasks', { description: 'For Bob' })
    await mine.until(() => types(mine).includes('task_assigned'), "Ann's assignment")
    await new Promise((resolve) => setTimeout(resolve, 300))

    assert.equal(mine.status, 200)
    assert.deepEqual(new Set(mine.events.map((event) => event.person_id)), new Set([ann]))
  })

  test('a stream ends when its credential does: a logout, a new PIN, a revoked key', async () => {
    const ann = (await t.service.post('/persons', { name: 'Ann', pin: '1234' })).body.id
    const signIn = async () =>
      (
        await t.service.request(
          'POST',
          '/login',
          { person_id: ann, pin: '1234' },
          { authorization: '' },
        )
      ).body.session.token
    const loggedOut = await open({ authorization: `Bearer ${await signIn()}` })
    await t.service.post('/logout', { person_id: ann })
    await loggedOut.until(() => loggedOut.ended, 'the stream to end after the logout')

    const repinned = await open({ authorization: `Bearer ${await signIn()}` })
    await t.service.request('PATCH', `/persons/${ann}`, { pin: '5678' })
    await repinned.until(() => repinned.ended, 'the stream to end after a new PIN')

    const key = (await t.service.post('/api-keys', { name: 'wall', role: 'supervisor' })).body
    const supervised = await open({ authorization: `Bearer ${key.key}` })
    await t.service.request('DELETE', `/api-keys/${key.id}`)
    await supervised.until(() => supervised.ended, 'the stream to end after the revocation')
  })

  test('without Accept: text/event-stream the answer is 406, not a stream', async () => {
    const reply = await t.service.get('/events')

    assert.equal(reply.status, 406)
    assert.equal(reply.body.code, 'NOT_ACCEPTABLE')
  })
})
