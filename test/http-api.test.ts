import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { assertProblem } from './support/problems.js'
import { forEachStore, type Reply } from './support/stores.js'

// The contract of every endpoint when it is used as intended; http-input.test.ts holds
// the refusals.

/** Sums every sample of a metric whose labels include `labels`. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!sample || sample[1] !== name) continue
    const tags = sample[2] ?? ''
    if (Object.entries(labels).every(([key, value]) => tags.includes(`${key}="${value}"`))) {
      total += Number(sample[3])
    }
  }

  return total
}

forEachStore('HTTP API contract', (t) => {
  const person = async (name = 'Ann'): Promise<number> =>
    (await t.service.post('/persons', { name })).body.id
  const login = (id: number) => t.service.post('/login', { person_id: id })
  const logout = (id: number) => t.service.post('/logout', { person_id: id })
  const createTask = (description = 'Inspect batch #1') => t.service.post('/tasks', { description })

  /** Follows next_cursor to the end, at most 20 pages, checking every page's size. */
  type Item = { id: number; task_id?: number }

  async function walk(url: string, limit: number): Promise<Item[]> {
    const items: Item[] = []
    let cursor: string | null = null
    for (let page = 0; page < 20; page++) {
      const separator = url.includes('?') ? '&' : '?'
      const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const reply: Reply<{ items: Item[]; next_cursor: string | null }> = await t.service.get<{
        items: Item[]
        next_cursor: string | null
      }>(`${url}${separator}${query}`)
      assert.equal(reply.status, 200, JSON.stringify(reply.body))
      assert.ok(reply.body.items.length <= limit)
      items.push(...reply.body.items)
      cursor = reply.body.next_cursor
      if (cursor === null) return items
    }
    assert.fail(`${url} still had a next_cursor after 20 pages`)
  }

  test('POST /persons answers 201 with a Location that serves the same person', async () => {
    const created = await t.service.post('/persons', { name: 'Ann' })

    assert.equal(created.status, 201)
    assert.equal(created.headers.location, `/persons/${created.body.id}`)
    assert.equal(created.body.state, 'offline')
    assert.equal(created.body.current_task_id, null)
    const fetched = await t.service.get(String(created.headers.location))
    assert.equal(fetched.status, 200)
    assert.deepEqual(fetched.body, created.body)
  })

  test('a person name is stored without its surrounding spaces', async () => {
    const created = await t.service.post('/persons', { name: '  Ann Lee \t' })

    assert.equal(created.status, 201)
    assert.equal(created.body.name, 'Ann Lee')
    const [row] = (await t.service.snapshot()).persons
    assert.equal(row?.name, 'Ann Lee')
  })

  test('a name of exactly 100 characters is accepted whole', async () => {
    const name = 'n'.repeat(100)

    const created = await t.service.post('/persons', { name })

    assert.equal(created.status, 201)
    assert.equal(created.body.name, name)
  })

  test('a name of 100 emoji counts as 100 characters and is accepted', async () => {
    const name = '😀'.repeat(100)

    const created = await t.service.post('/persons', { name })

    assert.equal(created.status, 201, JSON.stringify(created.body))
    assert.equal(created.body.name, name)
  })

  test('a 100-character name inside surrounding spaces is accepted and trimmed', async () => {
    const name = 'n'.repeat(100)

    const created = await t.service.post('/persons', { name: `  ${name} ` })

    assert.equal(created.status, 201, JSON.stringify(created.body))
    assert.equal(created.body.name, name)
  })

  test('GET /persons?state= lists only the people in that state', async () => {
    const offline = await person('Off')
    const free = await person('Free')
    const busy = await person('Busy')
    await createTask()
    await login(busy)
    await login(free)

    const ids = async (state: string) =>
      (await t.service.get(`/persons?state=${state}`)).body.items.map((p: { id: number }) => p.id)

    assert.deepEqual(await ids('offline'), [offline])
    assert.deepEqual(await ids('free'), [free])
    assert.deepEqual(await ids('busy'), [busy])
    assert.equal((await t.service.get('/persons')).body.items.length, 3)
  })

  test('GET /persons/{id} shows the task the person holds as current_task_id', async () => {
    const ann = await person()
    await login(ann)
    const task = await createTask()

    const held = await t.service.get(`/persons/${ann}`)

    assert.equal(held.status, 200)
    assert.equal(held.body.state, 'busy')
    assert.equal(held.body.current_task_id, task.body.id)
    await t.service.post(`/tasks/${task.body.id}/complete`)
    const done = await t.service.get(`/persons/${ann}`)
    assert.equal(done.body.state, 'free')
    assert.equal(done.body.current_task_id, null)
  })

  test('GET /persons/{id} answers 404 problem for an id nobody has', async () => {
    assertProblem(await t.service.get('/persons/2147483647'), 404, 'PERSON_NOT_FOUND')
  })

  test('GET /persons/available lists free people, the longest free first', async () => {
    const ids = [await person('A'), await person('B'), await person('C')]
    // Apart by a few milliseconds, so the free queue's order is the login order, not the ids.
    for (const id of [ids[2], ids[0], ids[1]]) {
      await login(id as number)
      await sleep(3)
    }
    const task = await createTask()
    assert.equal(task.body.assigned_person_id, ids[2], 'C was free the longest')
    const late = await person('D')
    await login(late)

    const available = await t.service.get('/persons/available')

    assert.equal(available.status, 200)
    assert.deepEqual(
      available.body.items.map((p: { id: number }) => p.id),
      [ids[0], ids[1], late],
    )
  })

  test('login answers the person and the oldest pending task they were given', async () => {
    const ann = await person()
    const first = await createTask('first')
    await createTask('second')

    const reply = await login(ann)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.person.id, ann)
    assert.equal(reply.body.person.state, 'busy')
    assert.equal(reply.body.task.id, first.body.id)
    assert.equal(reply.body.task.status, 'IN_PROGRESS')
    assert.equal(reply.body.task.assigned_person_id, ann)
  })

  test('logging in twice answers 200, keeps the task and makes no second assignment', async () => {
    const ann = await person()
    await createTask('first')
    await createTask('second')
    const first = await login(ann)
    const before = await t.service.snapshot()

    const again = await login(ann)

    assert.equal(again.status, 200)
    assert.equal(again.body.person.state, 'busy')
    assert.equal(again.body.task.id, first.body.task.id)
    const after = await t.service.snapshot()
    assert.deepEqual(after.assignments, before.assignments)
    assert.deepEqual(after.tasks, before.tasks)
  })

  test('logging in twice while free keeps the place in the free queue', async () => {
    const ann = await person()
    const first = await login(ann)
    await sleep(5)

    const again = await login(ann)

    assert.equal(again.status, 200)
    assert.equal(again.body.person.state, 'free')
    assert.equal(again.body.task, null)
    assert.equal(again.body.person.available_since, first.body.person.available_since)
  })

  test('logout releases the held task back to PENDING and says which one', async () => {
    const ann = await person()
    await login(ann)
    const task = await createTask()

    const reply = await logout(ann)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.person.state, 'offline')
    assert.equal(reply.body.released_task.id, task.body.id)
    assert.equal(reply.body.released_task.status, 'PENDING')
    assert.equal(reply.body.released_task.assigned_person_id, null)
  })

  test('logging out twice answers 200 and the second changes nothing', async () => {
    const ann = await person()
    await login(ann)
    await createTask()
    await logout(ann)
    const before = await t.service.snapshot()

    const again = await logout(ann)

    assert.equal(again.status, 200)
    assert.equal(again.body.person.state, 'offline')
    assert.equal(again.body.released_task, null)
    assert.deepEqual(await t.service.snapshot(), before)
  })

  test('a heartbeat moves last_heartbeat forward and answers the person', async () => {
    const ann = await person()
    const loggedIn = await login(ann)
    await sleep(5)

    const beat = await t.service.post('/heartbeat', { person_id: ann })

    assert.equal(beat.status, 200)
    assert.equal(beat.body.id, ann)
    assert.ok(beat.body.last_heartbeat > loggedIn.body.person.last_heartbeat)
    const stored = await t.service.get(`/persons/${ann}`)
    assert.equal(stored.body.last_heartbeat, beat.body.last_heartbeat)
  })

  test('a heartbeat from a logged-out person answers 409 and changes nothing', async () => {
    const ann = await person()
    const before = await t.service.snapshot()

    const beat = await t.service.post('/heartbeat', { person_id: ann })

    assertProblem(beat, 409, 'PERSON_NOT_LOGGED_IN')
    assert.deepEqual(await t.service.snapshot(), before)
  })

  test('login, logout and heartbeat answer 404 problem for an unknown person', async () => {
    for (const path of ['/login', '/logout', '/heartbeat']) {
      const reply = await t.service.post(path, { person_id: 2147483647 })
      assertProblem(reply, 404, 'PERSON_NOT_FOUND')
    }
    assert.deepEqual((await t.service.snapshot()).persons, [])
  })

  test('POST /tasks answers 201 with a Location that serves the same task', async () => {
    const created = await createTask('Inspect batch #123')

    assert.equal(created.status, 201)
    assert.equal(created.headers.location, `/tasks/${created.body.id}`)
    assert.equal(created.body.status, 'PENDING')
    assert.equal(created.body.description, 'Inspect batch #123')
    const fetched = await t.service.get(String(created.headers.location))
    assert.equal(fetched.status, 200)
    assert.deepEqual(fetched.body, created.body)
  })

  test('POST /tasks/ with the trailing slash of the original API creates a task', async () => {
    const created = await t.service.post('/tasks/', { description: 'Inspect batch #124' })

    assert.equal(created.status, 201)
    assert.equal(created.headers.location, `/tasks/${created.body.id}`)
    assert.equal((await t.service.snapshot()).tasks.length, 1)
  })

  test('a description of 10,000 characters is stored whole', async () => {
    const description = 'd'.repeat(10_000)

    const created = await createTask(description)

    assert.equal(created.status, 201)
    const fetched = await t.service.get(`/tasks/${created.body.id}`)
    assert.equal(fetched.body.description, description)
  })

  test('emoji, CJK and accents in a description come back exactly as sent', async () => {
    const description = '検査バッチ #7 ✅ 😀👩🏽‍🔬 — naïve café, 한국어, \u0000 end'

    const created = await createTask(description)

    assert.equal(created.status, 201)
    assert.equal(created.body.description, description)
    assert.equal((await t.service.get(`/tasks/${created.body.id}`)).body.description, description)
    assert.equal((await t.service.snapshot()).tasks[0]?.description, description)
  })

  test('a description of 10,000 emoji is stored whole', async () => {
    const description = '🧪'.repeat(10_000)

    const created = await createTask(description)

    assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300))
    assert.equal((await t.service.get(`/tasks/${created.body.id}`)).body.description, description)
  })

  test('GET /tasks?status= lists only the tasks in that status', async () => {
    const ann = await person()
    await login(ann)
    const done = await createTask('done')
    const inProgress = await createTask('in progress')
    const pending = await createTask('pending')
    await t.service.post(`/tasks/${done.body.id}/complete`)

    const ids = async (status: string) =>
      (await t.service.get(`/tasks?status=${status}`)).body.items.map((x: { id: number }) => x.id)

    assert.deepEqual(await ids('DONE'), [done.body.id])
    assert.deepEqual(await ids('IN_PROGRESS'), [inProgress.body.id])
    assert.deepEqual(await ids('PENDING'), [pending.body.id])
  })

  test('GET /tasks/{id} answers 404 problem for an id no task has', async () => {
    assertProblem(await t.service.get('/tasks/2147483647'), 404, 'TASK_NOT_FOUND')
  })

  test('GET /tasks/pending lists the queue oldest first', async () => {
    const ids: number[] = []
    for (let i = 0; i < 4; i++) ids.push((await createTask(`task ${i}`)).body.id)

    const pending = await t.service.get('/tasks/pending')

    assert.equal(pending.status, 200)
    assert.deepEqual(
      pending.body.items.map((x: { id: number }) => x.id),
      ids,
    )
    assert.equal(pending.body.next_cursor, null)
  })

  test('completing a task answers it DONE and the next task its inspector got', async () => {
    const ann = await person()
    await login(ann)
    const first = await createTask('first')
    const second = await createTask('second')

    const reply = await t.service.post(`/tasks/${first.body.id}/complete`)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.completed.id, first.body.id)
    assert.equal(reply.body.completed.status, 'DONE')
    assert.ok(reply.body.completed.completed_at)
    assert.equal(reply.body.next_task.id, second.body.id)
    assert.equal(reply.body.next_task.status, 'IN_PROGRESS')
    assert.equal(reply.body.next_task.assigned_person_id, ann)
  })

  test('completing the last task answers next_task null and frees the inspector', async () => {
    const ann = await person()
    await login(ann)
    const only = await createTask()

    const reply = await t.service.post(`/tasks/${only.body.id}/complete`)

    assert.equal(reply.status, 200)
    assert.equal(reply.body.next_task, null)
    assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'free')
  })

  test('completing with no body and no Content-Type, as curl -X POST sends it, works', async () => {
    const ann = await person()
    await login(ann)
    const task = await createTask()

    const reply = await t.service.request('POST', `/tasks/${task.body.id}/complete`, '')

    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    assert.equal(reply.body.completed.status, 'DONE')
  })

  test('completing twice answers 409 TASK_ALREADY_DONE and changes nothing', async () => {
    const ann = await person()
    await login(ann)
    const task = await createTask()
    await t.service.post(`/tasks/${task.body.id}/complete`)
    const before = await t.service.snapshot()

    const again = await t.service.post(`/tasks/${task.body.id}/complete`)

    assertProblem(again, 409, 'TASK_ALREADY_DONE')
    assert.deepEqual(await t.service.snapshot(), before)
  })

  test('completing a PENDING task answers 409 and changes nothing', async () => {
    const task = await createTask()
    const before = await t.service.snapshot()

    const reply = await t.service.post(`/tasks/${task.body.id}/complete`)

    assertProblem(reply, 409, 'TASK_NOT_IN_PROGRESS')
    assert.deepEqual(await t.service.snapshot(), before)
  })

  test('completing an unknown task answers 404 problem', async () => {
    assertProblem(await t.service.post('/tasks/2147483647/complete'), 404, 'TASK_NOT_FOUND')
  })

  test('GET /assignments filters by task_id and by person_id, newest first', async () => {
    const ann = await person('Ann')
    const bob = await person('Bob')
    await login(ann)
    const task = await createTask('bounced')
    await logout(ann)
    await login(bob)
    const other = await createTask('other')
    await t.service.post(`/tasks/${task.body.id}/complete`)

    const byTask = await t.service.get(`/assignments?task_id=${task.body.id}`)
    const byPerson = await t.service.get(`/assignments?person_id=${bob}`)

    assert.equal(byTask.status, 200)
    assert.deepEqual(
      byTask.body.items.map((a: { person_id: number }) => a.person_id),
      [bob, ann],
    )
    assert.deepEqual(
      byTask.body.items.map((a: { end_reason: string }) => a.end_reason),
      ['COMPLETED', 'LOGOUT'],
    )
    assert.deepEqual(
      byPerson.body.items.map((a: { task_id: number }) => a.task_id),
      [other.body.id, task.body.id],
    )
  })

  test('paging every list with limit 3 serves each of 7 items once, in order', async () => {
    const people: number[] = []
    for (let i = 0; i < 7; i++) people.push(await person(`P${i}`))
    for (const id of people) await login(id)
    const tasks: number[] = []
    for (let i = 0; i < 14; i++) tasks.push((await createTask(`T${i}`)).body.id)
    // Seven tasks went to the seven people; seven wait in the queue.
    const newestFirst = (ids: number[]) => [...ids].reverse()
    const ids = async (url: string) => (await walk(url, 3)).map((item) => item.id)

    assert.deepEqual(await ids('/persons'), people)
    assert.deepEqual(await ids('/tasks/pending'), tasks.slice(7))
    assert.deepEqual(await ids('/tasks?status=IN_PROGRESS'), newestFirst(tasks.slice(0, 7)))
    assert.deepEqual(await ids('/tasks'), newestFirst(tasks))
    const assignments = await walk('/assignments', 3)
    assert.equal(assignments.length, 7)
    assert.equal(new Set(assignments.map((a) => a.id)).size, 7)
    assert.deepEqual(
      assignments.map((a) => a.id),
      [...assignments.map((a) => a.id)].sort((x, y) => y - x),
    )
  })

  test('paging /persons/available with limit 3 walks 7 people in serving order', async () => {
    const people: number[] = []
    for (let i = 0; i < 7; i++) people.push(await person(`P${i}`))
    for (const id of [...people].reverse()) {
      await login(id)
      await sleep(3)
    }

    const available = (await walk('/persons/available', 3)).map((item) => item.id)

    assert.deepEqual(available, [...people].reverse())
  })

  test('paging /assignments?person_id= with limit 3 walks 7 assignments newest first', async () => {
    const ann = await person('Ann')
    const bob = await person('Bob')
    await login(bob)
    await createTask('for Bob')
    await login(ann)
    let task = await createTask('T0')
    for (let i = 1; i < 7; i++) await createTask(`T${i}`)
    const done: number[] = []
    for (let i = 0; i < 7; i++) {
      const completed = await t.service.post(`/tasks/${task.body.id}/complete`)
      done.push(completed.body.completed.id)
      task = { ...task, body: completed.body.next_task }
    }

    const walked = await walk(`/assignments?person_id=${ann}`, 3)

    assert.deepEqual(
      walked.map((a) => a.task_id),
      [...done].reverse(),
    )
    assert.equal(new Set(walked.map((a) => a.id)).size, 7)
  })

  test('GET /healthz and GET /readyz answer 200', async () => {
    const health = await t.service.get('/healthz')
    const ready = await t.service.get('/readyz')

    assert.equal(health.status, 200)
    assert.deepEqual(health.body, { status: 'ok' })
    assert.equal(ready.status, 200)
    assert.deepEqual(ready.body, { status: 'ready' })
  })

  test('GET /openapi.json is an OpenAPI 3.1 document with the original paths', async () => {
    const reply = await t.service.get('/openapi.json')

    assert.equal(reply.status, 200)
    assert.match(reply.body.openapi, /^3\.1\./)
    const paths = reply.body.paths as Record<string, Record<string, unknown>>
    const tasksPath = paths['/tasks/'] ?? paths['/tasks']
    assert.ok(tasksPath?.post, 'POST /tasks/ or POST /tasks')
    assert.ok(paths['/login']?.post)
    assert.ok(paths['/logout']?.post)
    assert.ok(paths['/persons/available']?.get)
    assert.ok(paths['/tasks/pending']?.get)
    assert.ok(paths['/tasks/{id}/complete']?.post)
  })

  test('GET /docs serves the HTML API documentation', async () => {
    let reply = await t.service.get('/docs')
    for (let hop = 0; hop < 3 && reply.status >= 300 && reply.status < 400; hop++) {
      const location = String(reply.headers.location)
      reply = await t.service.get(location.startsWith('/') ? location : `/docs/${location}`)
    }

    assert.equal(reply.status, 200)
    assert.match(reply.contentType, /^text\/html/)
    assert.match(String(reply.body), /<html/i)
  })

  test('GET /metrics shows every service metric', async () => {
    const reply = await t.service.get('/metrics')

    assert.equal(reply.status, 200)
    assert.match(reply.contentType, /^text\/plain/)
    const names = [
      'qc_tasks_created_total',
      'qc_tasks_assigned_total',
      'qc_tasks_completed_total',
      'qc_tasks_released_total',
      'qc_queue_depth',
      'qc_persons',
      'qc_task_wait_seconds',
      'qc_db_transaction_retries_total',
      'qc_sweep_duration_seconds',
    ]
    for (const name of names) assert.match(String(reply.body), new RegExp(`^# TYPE ${name} `, 'm'))
  })

  test('the metric counters move as tasks are created, assigned, done and released', async () => {
    const scrape = async () => String((await t.service.get('/metrics')).body)
    const before = await scrape()
    const ann = await person()
    await login(ann)
    const first = await createTask('first')
    await t.service.post(`/tasks/${first.body.id}/complete`)
    await createTask('second')
    await logout(ann)
    await createTask('third')

    const after = await scrape()

    const moved = (name: string, labels?: Record<string, string>) =>
      metric(after, name, labels) - metric(before, name, labels)
    assert.equal(moved('qc_tasks_created_total'), 3)
    assert.equal(moved('qc_tasks_assigned_total', { reason: 'TASK_CREATED' }), 2)
    assert.equal(moved('qc_task_wait_seconds_count'), 2)
    assert.equal(moved('qc_tasks_completed_total'), 1)
    assert.equal(moved('qc_tasks_released_total', { reason: 'LOGOUT' }), 1)
    assert.equal(metric(after, 'qc_queue_depth'), 2)
    assert.equal(metric(after, 'qc_persons', { state: 'offline' }), 1)
    assert.equal(metric(after, 'qc_persons', { state: 'busy' }), 0)
  })
  test('the OpenAPI document marks the completion body optional, errors problem+json', async () => {
    const doc = (await t.service.get('/openapi.json')).body
    const complete = doc.paths['/tasks/{id}/complete'].post

    assert.equal(complete.requestBody.required, false)
    assert.ok(complete.responses['4XX'].content['application/problem+json'])
    assert.ok(doc.components.schemas.Problem)
  })
})
