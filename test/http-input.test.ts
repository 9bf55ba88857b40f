import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sql } from 'kysely'
import { assertProblem } from './support/problems.js'
import { forEachStore, type Reply } from './support/stores.js'

// Every way a request can be wrong, and that each is refused with a problem+json answer
// that leaves the data as it was.

interface Problem {
  title: string
  detail: string
  instance: string
  code: string
  errors?: { pointer: string; detail: string }[]
}

const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url')

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }

forEachStore('HTTP input checks', (t) => {
  const person = async (name = 'Ann'): Promise<number> =>
    (await t.service.post('/persons', { name })).body.id
  const createTask = (description = 'Inspect batch #1') => t.service.post('/tasks', { description })

  /** Sends the request and checks it was refused with `status` and changed nothing. */
  async function refused(
    status: number,
    send: () => Promise<Reply>,
    code?: string,
  ): Promise<Reply<Problem>> {
    const before = await t.service.snapshot()
    const reply = await send()
    assertProblem(reply, status, code)
    assert.deepEqual(await t.service.snapshot(), before, 'a refused request changed data')

    return reply as Reply<Problem>
  }

  test('POST /persons refuses a blank, missing, mistyped or too long name', async () => {
    await person('Existing')
    const bodies = [
      { name: '' },
      { name: '   ' },
      { name: ' \t\n ' },
      { name: '\u00a0\u2003' },
      {},
      { name: 42 },
      { name: null },
      { name: ['Ann'] },
      { name: 'n'.repeat(101) },
    ]

    for (const body of bodies) {
      await refused(400, () => t.service.post('/persons', body))
    }
  })

  test('POST /persons refuses an unknown extra field and names it', async () => {
    const reply = await refused(400, () =>
      t.service.post('/persons', { name: 'Ann', role: 'admin' }),
    )

    assert.match(reply.body.detail, /role/)
  })

  test('the problem for a wrong field points at it', async () => {
    const reply = await refused(400, () => t.service.post('/persons', { name: 42 }))

    assert.equal(reply.body.code, 'VALIDATION_FAILED')
    assert.equal(reply.body.instance, '/persons')
    assert.equal(reply.body.title, 'Bad Request')
    assert.deepEqual(
      reply.body.errors?.map((e) => e.pointer),
      ['#/name'],
    )
  })

  test('an id that is not a positive 32-bit integer answers 400 on every id route', async () => {
    const ann = await person()
    await t.service.post('/login', { person_id: ann })
    const task = await createTask()
    const routes = [
      (id: string) => t.service.get(`/persons/${id}`),
      (id: string) => t.service.get(`/tasks/${id}`),
      (id: string) => t.service.post(`/tasks/${id}/complete`),
    ]

    for (const route of routes) {
      for (const id of ['abc', '-1', '0', '1.5', '2147483648', `${task.body.id}x`]) {
        await refused(400, () => route(id), 'VALIDATION_FAILED')
      }
    }
    assert.equal((await t.service.get(`/tasks/${task.body.id}`)).body.status, 'IN_PROGRESS')
  })

  test('login, logout and heartbeat refuse a malformed person_id with 400', async () => {
    const ann = await person()
    const bodies: unknown[] = [
      { person_id: String(ann) },
      {},
      { person_id: -1 },
      { person_id: 0 },
      { person_id: 1.5 },
      { person_id: null },
      { person_id: true },
      { person_id: 2147483648 },
      { person_id: ann, extra: true },
      [ann],
    ]

    for (const path of ['/login', '/logout', '/heartbeat']) {
      for (const body of bodies) {
        await refused(400, () => t.service.post(path, body), 'VALIDATION_FAILED')
      }
      await refused(400, () => t.service.post(path))
    }
    assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'offline')
  })

  test('{"person_id":"1"} is a wrong type, not a login of person 1', async () => {
    const ann = await person()

    const reply = await refused(400, () =>
      t.service.post('/login', `{"person_id":"${ann}"}`, JSON_TYPE),
    )

    assert.match(reply.body.detail, /person_id/)
    assert.match(reply.body.detail, /integer/)
  })

  test('POST /tasks refuses a blank, missing, mistyped or too long description', async () => {
    await createTask('existing')
    const bodies = [
      { description: '' },
      { description: '  \n\t ' },
      {},
      { description: 7 },
      { description: { text: 'x' } },
      { description: 'd'.repeat(10_001) },
      { description: 'ok', priority: 1 },
    ]

    for (const body of bodies) {
      await refused(400, () => t.service.post('/tasks', body))
      await refused(400, () => t.service.post('/tasks/', body))
    }
  })

  test('a description with a lone UTF-16 surrogate is refused, not stored altered', async () => {
    await refused(400, () =>
      t.service.post('/tasks', '{"description":"batch \\ud800 seven"}', JSON_TYPE),
    )
  })

  test('a body over BODY_LIMIT_BYTES answers 413 problem and changes nothing', async () => {
    const huge = JSON.stringify({ description: 'x'.repeat(262_144) })

    const reply = await refused(413, () => t.service.post('/tasks', huge, JSON_TYPE))
    await refused(413, () => t.service.post('/tasks/', huge, FORM))

    assert.equal(reply.body.code, 'BODY_TOO_LARGE')
    assert.match(reply.body.detail, /262144/)
  })

  test('JSON sent as x-www-form-urlencoded, as curl -d sends it, is accepted', async () => {
    const ann = (await t.service.post('/persons', '{"name":"Ann"}', FORM)).body.id

    const task = await t.service.post('/tasks/', '{"description":"Inspect batch #123"}', FORM)
    const login = await t.service.post('/login', `{"person_id":${ann}}`, FORM)

    assert.equal(task.status, 201)
    assert.equal(task.body.description, 'Inspect batch #123')
    assert.equal(login.status, 200)
    assert.equal(login.body.task.id, task.body.id)
  })

  test('a non-JSON body under a form or text type answers 415 and changes nothing', async () => {
    await person()
    const sends = [
      () => t.service.post('/persons', 'name=Ann', FORM),
      () => t.service.post('/tasks/', 'description=Inspect', FORM),
      () => t.service.post('/tasks', 'Inspect batch', { 'content-type': 'text/plain' }),
      () => t.service.post('/login', 'person_id=1', { 'content-type': 'text/plain' }),
      () => t.service.post('/tasks', 'Inspect batch', {}),
    ]

    for (const send of sends) {
      const reply = await refused(415, send, 'UNSUPPORTED_MEDIA_TYPE')
      assert.match(reply.body.detail, /Content-Type: application\/json/)
    }
  })

  test('malformed JSON under application/json answers 400 and changes nothing', async () => {
    await person()
    const bodies = ['{"name":', '{name: "Ann"}', "{'name':'Ann'}", '{"name":"Ann",}', 'Ann']

    for (const body of bodies) {
      await refused(400, () => t.service.post('/persons', body, JSON_TYPE), 'MALFORMED_JSON')
    }
  })

  test('an empty body under application/json answers 400', async () => {
    await refused(400, () => t.service.post('/tasks', '', JSON_TYPE), 'EMPTY_BODY')
  })

  test('a __proto__ key is refused under either content type', async () => {
    const body = '{"__proto__":{"admin":true},"name":"Ann"}'

    await refused(400, () => t.service.post('/persons', body, JSON_TYPE))
    await refused(400, () => t.service.post('/persons', body, FORM))
  })

  test('a state or status outside the enum answers 400', async () => {
    await refused(400, () => t.service.get('/persons?state=away'), 'VALIDATION_FAILED')
    await refused(400, () => t.service.get('/persons?state=FREE'), 'VALIDATION_FAILED')
    await refused(400, () => t.service.get('/tasks?status=pending'), 'VALIDATION_FAILED')
    await refused(400, () => t.service.get('/tasks?status=CANCELED'), 'VALIDATION_FAILED')
  })

  test('an unknown query parameter or a bad filter id answers 400', async () => {
    await refused(400, () => t.service.get('/tasks?sort=asc'), 'VALIDATION_FAILED')
    await refused(400, () => t.service.get('/assignments?task_id=abc'), 'VALIDATION_FAILED')
    await refused(400, () => t.service.get('/assignments?person_id=0'), 'VALIDATION_FAILED')
  })

  test('limit 0, 501 or a non-number answers 400 on every list', async () => {
    const lists = ['/persons', '/persons/available', '/tasks', '/tasks/pending', '/assignments']

    for (const list of lists) {
      for (const limit of ['0', '501', '-3', 'ten', '2.5']) {
        await refused(400, () => t.service.get(`${list}?limit=${limit}`), 'VALIDATION_FAILED')
      }
      const edge = await t.service.get(`${list}?limit=500`)
      assert.equal(edge.status, 200)
    }
  })

  test('a garbage cursor answers 400 BAD_CURSOR on every list', async () => {
    await createTask()
    const lists = ['/persons', '/persons/available', '/tasks', '/tasks/pending', '/assignments']
    const garbage = ['!!!', 'abc', cursorOf({ id: 1 }), cursorOf(['1']), cursorOf([1, 2, 3])]

    for (const list of lists) {
      for (const cursor of garbage) {
        const reply = await refused(400, () => t.service.get(`${list}?cursor=${cursor}`))
        assert.equal(reply.body.code, 'BAD_CURSOR')
      }
    }
    await refused(400, () => t.service.get('/tasks?cursor='), 'VALIDATION_FAILED')
  })

  test('a cursor holding a number out of range answers 400, not 500', async () => {
    await person()
    await createTask()
    // JSON.stringify cannot write 1e400, so these two are made by hand.
    const infinite = Buffer.from('[1e400]').toString('base64url')
    const infinitePair = Buffer.from('["2026-01-01 00:00:00.000",1e400]').toString('base64url')

    for (const list of ['/persons', '/tasks', '/assignments']) {
      await refused(400, () => t.service.get(`${list}?cursor=${infinite}`), 'BAD_CURSOR')
    }
    await refused(400, () => t.service.get(`/tasks/pending?cursor=${infinitePair}`), 'BAD_CURSOR')
  })

  test('a /tasks/pending cursor whose time is not a timestamp answers 400', async () => {
    await createTask()

    await refused(
      400,
      () => t.service.get(`/tasks/pending?cursor=${cursorOf(['not a time', 1])}`),
      'BAD_CURSOR',
    )
  })

  test('an unknown route or method answers 404 problem+json', async () => {
    const unknown = await refused(404, () => t.service.get('/nope'), 'NO_SUCH_ROUTE')
    await refused(404, () => t.service.request('DELETE', '/tasks/1'), 'NO_SUCH_ROUTE')
    await refused(404, () => t.service.post('/tasks/1/reopen'), 'NO_SUCH_ROUTE')

    assert.equal(unknown.body.instance, '/nope')
    assert.match(unknown.body.detail, /GET \/nope/)
  })

  test('a database failure answers 500 problem+json without SQL or a stack', async () => {
    const db = t.service.store.db
    await sql`alter table assignment rename to assignment_hidden`.execute(db)
    try {
      const reply = await t.service.get('/assignments')

      assertProblem(reply, 500, 'INTERNAL_ERROR')
      assert.doesNotMatch(JSON.stringify(reply.body), /assignment_hidden|assignment\b.*exist/i)
    } finally {
      await sql`alter table assignment_hidden rename to assignment`.execute(db)
    }
  })
  test('an id in hex, exponent or signed form answers 400, not another row', async () => {
    await person()
    for (const id of ['0x10', '1e3', '+1', '01', '%201']) {
      const reply = await refused(400, () => t.service.get(`/persons/${id}`), 'VALIDATION_FAILED')
      assert.match(reply.body.detail, /from 1 to 2147483647, written in decimal/)
    }
  })

  test('a value outside an enumeration is refused with the allowed values listed', async () => {
    const tasks = await refused(400, () => t.service.get('/tasks?status=done'), 'VALIDATION_FAILED')
    const persons = await refused(400, () => t.service.get('/persons?state=FREE'))

    assert.match(tasks.body.detail, /must be one of PENDING, IN_PROGRESS, DONE, CANCELLED$/)
    assert.match(persons.body.detail, /must be one of offline, free, busy$/)
  })

  test('a cursor from another list is refused with 400', async () => {
    for (let i = 0; i < 3; i++) await person(`P${i}`)
    const page = await t.service.get('/persons?limit=1')

    await refused(400, () => t.service.get(`/tasks?cursor=${page.body.next_cursor}`), 'BAD_CURSOR')
  })

  test('a URL that cannot be decoded answers 400 problem+json', async () => {
    await refused(400, () => t.service.get('/tasks/%zz'), 'BAD_URL')
  })

  test('a name over 100 characters is refused however long it is', async () => {
    for (const length of [101, 150, 201, 5000]) {
      await refused(400, () => t.service.post('/persons', { name: 'n'.repeat(length) }), 'BAD_NAME')
    }
  })

  test('a plain x-request-id is echoed, and a long or odd one is replaced', async () => {
    const plain = await t.service.request('GET', '/healthz', undefined, {
      'x-request-id': 'mes.42',
    })
    const long = await t.service.request('GET', '/healthz', undefined, {
      'x-request-id': 'x'.repeat(65),
    })
    const first = await t.service.get('/healthz')
    const second = await t.service.get('/healthz')

    assert.equal(plain.headers['x-request-id'], 'mes.42')
    assert.match(String(long.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id'])
  })
})
