// GET /dashboard and GET /assignments/export: what a supervisor's console reads. The
// histories are made through the API under a clock the test sets, so every event lands in
// the hour and the day the expected numbers assume.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CompiledQuery, Kysely, sql } from 'kysely'
import type { Database } from '../src/store/schema.js'
import type { Store } from '../src/store/store.js'
import { toDbTime } from '../src/store/time.js'
import { assertProblem } from './support/problems.js'
import { forEachStore, type StoreName, type StoreSuite, TestService } from './support/stores.js'

const MINUTE = 60_000
const PIN = '4711-ok'

/** The time the service sees; tests move it. */
class Clock {
  private ms: number

  constructor(iso: string) {
    this.ms = Date.parse(iso)
  }

  set(iso: string): void {
    this.ms = Date.parse(iso)
  }

  readonly now = (): Date => new Date(this.ms)
}

/** A second service over the suite's database, on a clock of the test's own. */
async function withClock(
  t: StoreSuite,
  start: string,
  use: (service: TestService, clock: Clock) => Promise<void>,
): Promise<void> {
  const clock = new Clock(start)
  const service = await TestService.start(t.databaseUrl, {}, clock.now)
  try {
    await use(service, clock)
  } finally {
    await service.stop()
  }
}

/** Calls that must succeed, so a failing step stops the test where it happened. */
function api(service: TestService) {
  const ok = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const reply = await service.request(method, url, body)
    assert.ok(reply.status < 300, `${method} ${url}: ${reply.status} ${JSON.stringify(reply.body)}`)
    return reply.body
  }

  return {
    person: async (name: string) => (await ok('POST', '/persons', { name, pin: PIN })).id as number,
    task: async (description: string) => {
      const task = await ok('POST', '/tasks', { description })
      return task as { id: number; status: string; assigned_person_id: number | null }
    },
    login: (personId: number) => ok('POST', '/login', { person_id: personId }),
    logout: (personId: number) => ok('POST', '/logout', { person_id: personId }),
    complete: (taskId: number) => ok('POST', `/tasks/${taskId}/complete`),
    cancel: (taskId: number) => ok('POST', `/tasks/${taskId}/cancel`),
    get: (url: string) => ok('GET', url),
  }
}

const LONG_DESCRIPTION = `Inspect ${'x'.repeat(300)}`

/**
 * A day of work, UTC. Yesterday Ann finishes one task and another is cancelled. Today Bob
 * finishes A (waited 10 min, 07:xx) and holds B (waited 0, 08:05); C is cancelled; Cid
 * works through twenty tasks made at 08:40, taking the first at 09:00 and each next one a
 * minute later (waits 20 to 39 min), and holds the last; P waits. The dashboard is read at
 * 09:30.
 */
async function aDayOfWork(service: TestService, clock: Clock) {
  const call = api(service)
  clock.set('2026-03-01T21:00:00.000Z')
  const ann = await call.person('Ann')
  const bob = await call.person('Bob, the second')
  const cid = await call.person('Cid')

  clock.set('2026-03-01T22:00:00.000Z')
  const y1 = await call.task('Y1')
  clock.set('2026-03-01T22:10:00.000Z')
  await call.login(ann)
  clock.set('2026-03-01T23:30:00.000Z')
  await call.complete(y1.id)
  clock.set('2026-03-01T23:31:00.000Z')
  await call.logout(ann)
  clock.set('2026-03-01T23:40:00.000Z')
  const y2 = await call.task('Y2')
  clock.set('2026-03-01T23:45:00.000Z')
  await call.cancel(y2.id)

  clock.set('2026-03-02T07:10:00.000Z')
  const a = await call.task('A')
  clock.set('2026-03-02T07:20:00.000Z')
  await call.login(bob)
  clock.set('2026-03-02T07:50:00.000Z')
  await call.complete(a.id)
  clock.set('2026-03-02T08:05:00.000Z')
  const b = await call.task(LONG_DESCRIPTION)
  assert.equal(b.assigned_person_id, bob, 'Bob was free')
  clock.set('2026-03-02T08:30:00.000Z')
  const c = await call.task('C')
  clock.set('2026-03-02T08:40:00.000Z')
  await call.cancel(c.id)

  const batch = []
  for (let i = 0; i < 20; i++) batch.push((await call.task(`T${i + 1}`)).id)
  clock.set('2026-03-02T09:00:00.000Z')
  await call.login(cid)
  for (let i = 0; i < 19; i++) {
    clock.set(new Date(Date.parse('2026-03-02T09:01:00.000Z') + i * MINUTE).toISOString())
    await call.complete(batch[i] as number)
  }
  clock.set('2026-03-02T09:25:00.000Z')
  await call.task('P')
  clock.set('2026-03-02T09:30:00.000Z')

  return { ann, bob, cid, b: b.id, last: batch[19] as number }
}

/** RFC 4180, strictly: a quote only opens a field, records end with CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i += 2
        continue
      }
      if (c === '"') quoted = false
      else field += c
      i += 1
      continue
    }
    if (c === '"') {
      assert.equal(field, '', `a quote inside an unquoted field at ${i}`)
      quoted = true
    } else if (c === ',') {
      record.push(field)
      field = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field)
      records.push(record)
      record = []
      field = ''
      i += 1
    } else {
      assert.ok(c !== '\r' && c !== '\n', `a bare line break outside quotes at ${i}`)
      field += c
    }
    i += 1
  }
  assert.equal(quoted, false, 'an unclosed quote')
  assert.deepEqual([record, field], [[], ''], 'the last record ends with CRLF')

  return records
}

/** The CSV's records as objects keyed by the header row. */
function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text)
  assert.ok(header)

  return rows.map((row) => {
    assert.equal(row.length, header.length, `a record of ${row.length} fields`)
    return Object.fromEntries(header.map((name, i) => [name, row[i] as string]))
  })
}

const HEADER = [
  'assignment_id',
  'task_id',
  'task_description',
  'person_id',
  'person_name',
  'assigned_at',
  'ended_at',
  'start_reason',
  'end_reason',
  'started_by',
  'ended_by',
  'wait_ms',
]

/** What the database plans for a query: SQLite's detail lines, or MariaDB's EXPLAIN rows. */
async function planOf(store: Store, kind: StoreName, query: CompiledQuery): Promise<string> {
  const prefix = kind === 'sqlite' ? 'explain query plan' : 'explain'
  const { rows } = await store.db.executeQuery<Record<string, unknown>>(
    CompiledQuery.raw(`${prefix} ${query.sql}`, [...query.parameters]),
  )

  return rows
    .map((row) =>
      kind === 'sqlite'
        ? String(row.detail)
        : `table=${row.table} type=${row.type} key=${row.key} extra=${row.Extra}`,
    )
    .join(' | ')
}

/** The table (by its alias in the query) is read through a range of the index, not scanned. */
function assertWalks(kind: StoreName, plan: string, table: string, index: string): void {
  if (kind === 'sqlite') {
    assert.match(plan, new RegExp(`SEARCH ${table} USING (COVERING )?INDEX ${index} `), plan)
    assert.doesNotMatch(plan, new RegExp(`SCAN ${table}\\b`), plan)
    return
  }
  assert.match(plan, new RegExp(`table=${table} type=range key=${index} `), plan)
}

const exportUrl = (from: string, to: string) =>
  `/assignments/export?${new URLSearchParams({ from, to })}`

forEachStore('supervisor dashboard and history export', (t) => {
  test('the counters count a known day: open tasks, today, and the last hour', async () => {
    await withClock(t, '2026-03-01T00:00:00.000Z', async (service, clock) => {
      await aDayOfWork(service, clock)

      const board = (await service.get('/dashboard')).body

      assert.equal(board.generated_at, '2026-03-02T09:30:00.000Z')
      assert.equal(board.today_start, '2026-03-02T00:00:00.000Z')
      assert.deepEqual(board.counters, {
        pending: 1,
        in_progress: 2,
        done_today: 20,
        cancelled_today: 1,
        assignments_last_hour: 20,
        // Waits of 20, 21, ... 39 minutes: the mean is 29.5; the 19th of 20 is 38.
        mean_wait_ms: 29.5 * MINUTE,
        p95_wait_ms: 38 * MINUTE,
      })
    })
  })

  test('the series: completions and mean waits hour by hour, the current hour last', async () => {
    await withClock(t, '2026-03-01T00:00:00.000Z', async (service, clock) => {
      await aDayOfWork(service, clock)

      const reply = await service.get('/dashboard?hours=4')
      const byDefault = (await service.get('/dashboard')).body.series

      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body.series, [
        {
          hour: '2026-03-02T06:00:00.000Z',
          completed: 0,
          assignments_started: 0,
          mean_wait_ms: null,
        },
        {
          hour: '2026-03-02T07:00:00.000Z',
          completed: 1,
          assignments_started: 1,
          mean_wait_ms: 10 * MINUTE,
        },
        { hour: '2026-03-02T08:00:00.000Z', completed: 0, assignments_started: 1, mean_wait_ms: 0 },
        {
          hour: '2026-03-02T09:00:00.000Z',
          completed: 19,
          assignments_started: 20,
          mean_wait_ms: 29.5 * MINUTE,
        },
      ])
      assert.equal(byDefault.length, 8)
      assert.equal(byDefault[0].hour, '2026-03-02T02:00:00.000Z')
      assert.deepEqual(byDefault.slice(4), reply.body.series)
    })
  })

  test('tz_offset_minutes moves where today and each hour begin', async () => {
    await withClock(t, '2026-03-01T00:00:00.000Z', async (service, clock) => {
      const { ann } = await aDayOfWork(service, clock)

      // UTC+02:00: yesterday's 23:30 completion and 23:45 cancellation are today's.
      const east = (await service.get('/dashboard?tz_offset_minutes=120&hours=1')).body
      // UTC+05:30: 09:30 UTC is 15:00 there, so hours begin at half past, UTC.
      const india = (await service.get('/dashboard?tz_offset_minutes=330&hours=2')).body
      // UTC-10:00: today began at 10:00 UTC, after everything but nothing of the 2nd.
      const west = (await service.get('/dashboard?tz_offset_minutes=-600')).body

      assert.equal(east.today_start, '2026-03-01T22:00:00.000Z')
      assert.equal(east.counters.done_today, 21)
      assert.equal(east.counters.cancelled_today, 2)
      assert.equal(east.inspectors.items.find((p: any) => p.id === ann).done_today, 1)
      assert.deepEqual(
        india.series.map((h: any) => [h.hour, h.completed, h.assignments_started]),
        [
          ['2026-03-02T08:30:00.000Z', 19, 20],
          ['2026-03-02T09:30:00.000Z', 0, 0],
        ],
      )
      assert.equal(west.today_start, '2026-03-01T10:00:00.000Z')
      assert.equal(west.counters.done_today, 21)
      assert.equal(west.counters.cancelled_today, 2)
    })
  })

  test('inspectors: state, current task and completions today, a page at a time', async () => {
    await withClock(t, '2026-03-01T00:00:00.000Z', async (service, clock) => {
      const { ann, bob, cid, b, last } = await aDayOfWork(service, clock)

      const first = (await service.get('/dashboard?limit=2')).body.inspectors
      const second = (await service.get(`/dashboard?limit=2&cursor=${first.next_cursor}`)).body
      const busy = (await service.get('/dashboard?state=busy')).body.inspectors

      assert.equal(first.total, 3)
      assert.deepEqual(first.by_state, { offline: 1, free: 0, busy: 2 })
      assert.deepEqual(first.items[0], {
        id: ann,
        name: 'Ann',
        state: 'offline',
        current_task: null,
        done_today: 0,
      })
      assert.deepEqual(first.items[1], {
        id: bob,
        name: 'Bob, the second',
        state: 'busy',
        current_task: {
          id: b,
          description: `${LONG_DESCRIPTION.slice(0, 199)}…`,
          assigned_at: '2026-03-02T08:05:00.000Z',
        },
        done_today: 1,
      })
      assert.deepEqual(second.inspectors.items, [
        {
          id: cid,
          name: 'Cid',
          state: 'busy',
          current_task: { id: last, description: 'T20', assigned_at: '2026-03-02T09:19:00.000Z' },
          done_today: 19,
        },
      ])
      assert.equal(second.inspectors.next_cursor, null)
      assert.equal(busy.total, 2)
      assert.deepEqual(
        busy.items.map((p: any) => p.id),
        [bob, cid],
      )
    })
  })

  test('with nothing done yet every counter is zero and every wait null', async () => {
    const board = await t.service.get('/dashboard?hours=1')

    assert.equal(board.status, 200)
    assert.equal(board.headers['cache-control'], 'no-store')
    assert.deepEqual(board.body.counters, {
      pending: 0,
      in_progress: 0,
      done_today: 0,
      cancelled_today: 0,
      assignments_last_hour: 0,
      mean_wait_ms: null,
      p95_wait_ms: null,
    })
    assert.deepEqual(board.body.inspectors, {
      total: 0,
      by_state: { offline: 0, free: 0, busy: 0 },
      items: [],
      next_cursor: null,
    })
    assert.equal(board.body.series.length, 1)
  })

  test('dashboard queries out of bounds are refused with 400', async () => {
    for (const query of [
      'hours=0',
      'hours=49',
      'tz_offset_minutes=900',
      'limit=501',
      'state=asleep',
      'cursor=nonsense',
      'colour=red',
    ]) {
      assertProblem(await t.service.get(`/dashboard?${query}`), 400)
    }
  })

  test('the CSV parses back to the history, awkward text and all', async () => {
    await withClock(t, '2026-03-02T08:00:00.000Z', async (service, clock) => {
      const call = api(service)
      const awkward = 'Lot 5, bay "B"\nsecond line'
      const formulas = ['=HYPERLINK("http://example.com","x")', '+1+1', '-2', '@SUM(A1)']
      const jo = await call.person('Jo "JJ", Smith')
      const made: { id: number; description: string }[] = []
      for (const [i, description] of [awkward, ...formulas, 'plain'].entries()) {
        clock.set(new Date(Date.parse('2026-03-02T08:00:00.000Z') + i * MINUTE).toISOString())
        made.push({ id: (await call.task(description)).id, description })
      }
      clock.set('2026-03-02T08:10:00.000Z')
      await call.login(jo)
      for (const [i, task] of made.slice(0, -1).entries()) {
        clock.set(new Date(Date.parse('2026-03-02T08:11:00.000Z') + i * MINUTE).toISOString())
        await call.complete(task.id)
      }

      const reply = await service.get(exportUrl('2026-03-02T08:00:00Z', '2026-03-02T09:00:00Z'))

      assert.equal(reply.status, 200)
      assert.equal(reply.headers['content-type'], 'text/csv; charset=utf-8')
      assert.equal(
        reply.headers['content-disposition'],
        'attachment; filename="assignments-20260302T080000Z-20260302T090000Z.csv"',
      )
      assert.deepEqual(parseCsv(reply.body)[0], HEADER)
      const rows = csvObjects(reply.body)
      const history = (await call.get(`/assignments?person_id=${jo}`)).items.reverse()
      assert.equal(rows.length, made.length)
      rows.forEach((row, i) => {
        const task = made[i] as { id: number; description: string }
        const assignment = history[i]
        const neutralised = formulas.includes(task.description)
        assert.deepEqual(row, {
          assignment_id: String(assignment.id),
          task_id: String(task.id),
          task_description: neutralised ? `'${task.description}` : task.description,
          person_id: String(jo),
          person_name: 'Jo "JJ", Smith',
          assigned_at: assignment.assigned_at,
          ended_at: assignment.completed_at ?? '',
          start_reason: i === 0 ? 'LOGIN' : 'COMPLETION',
          end_reason: assignment.end_reason ?? '',
          started_by: 'admin:env',
          ended_by: assignment.ended_by ?? '',
          // Task i was made at 08:0i and taken at 08:1i, when the one before was done.
          wait_ms: String(10 * MINUTE),
        })
      })
      assert.equal(rows.at(-1)?.ended_at, '', 'the open assignment has no end')
      assert.equal(rows[0]?.task_description, awkward)
    })
  })

  test('a range takes in from and leaves out to; a long export arrives complete', async () => {
    const { store } = t.service
    const db = store.db
    const person = await store.persons.insert(db, {
      name: 'Bulk',
      now: '2026-03-01 00:00:00.000',
      badgeCode: null,
      pinHash: null,
    })
    // 2,500 assignments, seven to a millisecond: the export's pages of 1,000 end mid-tie.
    const total = 2500
    const start = Date.parse('2026-03-01T00:00:00.000Z')
    const at = (i: number) => toDbTime(new Date(start + Math.floor(i / 7)))
    for (let first = 0; first < total; first += 500) {
      const rows = Array.from({ length: 500 }, (_, j) => ({
        description: `bulk ${first + j}`,
        status: 'DONE' as const,
        created_at: at(first + j),
        completed_at: at(first + j),
      }))
      await db.insertInto('qc_task').values(rows).execute()
    }
    const tasks = await db.selectFrom('qc_task').select('id').orderBy('id').execute()
    for (let first = 0; first < total; first += 500) {
      const rows = tasks.slice(first, first + 500).map((task, j) => ({
        task_id: task.id,
        person_id: person,
        assigned_at: at(first + j),
        completed_at: at(first + j),
        start_reason: 'LOGIN' as const,
        end_reason: 'COMPLETED' as const,
      }))
      await db.insertInto('assignment').values(rows).execute()
    }
    const ids = (
      await db.selectFrom('assignment').select('id').orderBy('assigned_at').orderBy('id').execute()
    ).map((row) => String(row.id))

    const all = await t.service.get(exportUrl('2026-03-01T00:00:00Z', '2026-03-01T00:00:01Z'))
    // From millisecond 2 (rows 14 to 20) up to millisecond 300 (rows 2100 on), excluded.
    const part = await t.service.get(
      exportUrl('2026-03-01T00:00:00.002Z', '2026-03-01T01:00:00.300+01:00'),
    )

    assert.deepEqual(
      csvObjects(all.body).map((row) => row.assignment_id),
      ids,
    )
    assert.deepEqual(
      csvObjects(part.body).map((row) => row.assignment_id),
      ids.slice(14, 2100),
    )
  })

  test('a missing, malformed, reversed, empty or too long range gets 400', async () => {
    const refusals: [string, string][] = [
      ['/assignments/export?from=2026-03-01T00:00:00Z', 'VALIDATION_FAILED'],
      [exportUrl('yesterday', '2026-03-02T00:00:00Z'), 'VALIDATION_FAILED'],
      [exportUrl('2026-03-01T00:00:00', '2026-03-02T00:00:00'), 'VALIDATION_FAILED'],
      [exportUrl('2026-03-02T00:00:00Z', '2026-03-01T00:00:00Z'), 'BAD_RANGE'],
      [exportUrl('2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z'), 'BAD_RANGE'],
      [exportUrl('2026-03-01T00:00:00Z', '2026-04-01T00:00:00.001Z'), 'BAD_RANGE'],
      [exportUrl('2026-02-30T00:00:00Z', '2026-03-02T00:00:00Z'), 'VALIDATION_FAILED'],
    ]
    for (const [url, code] of refusals) {
      assertProblem(await t.service.get(url), 400, code)
    }
    const month = await t.service.get(exportUrl('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'))
    assert.equal(month.status, 200, '31 days are allowed')
    assert.deepEqual(parseCsv(month.body), [HEADER])
  })

  test("an inspector's session gets 403 from both routes", async () => {
    const ann = (await t.service.post('/persons', { name: 'Ann', pin: PIN })).body.id
    const signedIn = await t.service.request(
      'POST',
      '/login',
      { person_id: ann, pin: PIN },
      { authorization: '' },
    )
    const as = { authorization: `Bearer ${signedIn.body.session.token}` }

    assertProblem(await t.service.get('/dashboard', as), 403, 'FORBIDDEN')
    assertProblem(
      await t.service.get(exportUrl('2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z'), as),
      403,
      'FORBIDDEN',
    )
  })

  test('the reads by time walk the indexes of migration 0004 instead of whole tables', async () => {
    const { store } = t.service
    const people = await seedForPlans(store, t.kind)
    const queries: CompiledQuery[] = []
    const spy = new Kysely<Database>({
      dialect: store.dialect.createKyselyDialect(),
      log: (event) => {
        if (event.level === 'query') queries.push(event.query)
      },
    })
    const planned = async (run: (db: Kysely<Database>) => Promise<unknown>) => {
      queries.length = 0
      await run(spy)
      assert.equal(queries.length, 1)
      return planOf(store, t.kind, queries[0] as CompiledQuery)
    }
    const from = '2026-03-01 10:00:00.000'
    const to = '2026-03-01 11:00:00.000'
    const hours = ['2026-03-01 08:00:00.000', '2026-03-01 09:00:00.000', to]
    try {
      const { reports } = store
      const plans = {
        ended: await planned((db) => reports.countEnded(db, from, to)),
        perHour: await planned((db) => reports.completedPerBucket(db, hours)),
        waits: await planned((db) => reports.waitSummary(db, from, to)),
        byPerson: await planned((db) => reports.completedBy(db, people.slice(0, 3), from, to)),
        page: await planned((db) =>
          reports.history(db, { from, to, after: [from, 1], limit: 1000 }),
        ),
      }

      assertWalks(t.kind, plans.ended, 'qc_task', 'qc_task_ended')
      assertWalks(t.kind, plans.perHour, 'qc_task', 'qc_task_ended')
      assertWalks(t.kind, plans.waits, 'a', 'assignment_by_start')
      assertWalks(t.kind, plans.byPerson, 'assignment', 'assignment_ended_by_person')
      assertWalks(t.kind, plans.page, 'assignment', 'assignment_by_start')
    } finally {
      await spy.destroy()
    }
  })
})

/** Two days of finished work, a task a minute, so that a scan would be a real choice. */
async function seedForPlans(store: Store, kind: StoreName): Promise<number[]> {
  const db = store.db
  const minute = (i: number) => toDbTime(new Date(Date.parse('2026-03-01T00:00:00Z') + i * MINUTE))
  const persons = Array.from({ length: 100 }, (_, i) => ({
    name: `plan ${i}`,
    created_at: minute(0),
  }))
  await db.insertInto('qc_person').values(persons).execute()
  const personIds = (await db.selectFrom('qc_person').select('id').execute()).map((p) => p.id)
  for (let first = 0; first < 2880; first += 480) {
    const tasks = Array.from({ length: 480 }, (_, j) => ({
      description: `plan ${first + j}`,
      status: 'DONE' as const,
      created_at: minute(first + j),
      completed_at: minute(first + j + 1),
    }))
    await db.insertInto('qc_task').values(tasks).execute()
  }
  const tasks = await db.selectFrom('qc_task').select('id').orderBy('id').execute()
  for (let first = 0; first < tasks.length; first += 480) {
    const rows = tasks.slice(first, first + 480).map((task, j) => ({
      task_id: task.id,
      person_id: personIds[(first + j) % personIds.length] as number,
      assigned_at: minute(first + j),
      completed_at: minute(first + j + 1),
      start_reason: 'TASK_CREATED' as const,
      end_reason: 'COMPLETED' as const,
    }))
    await db.insertInto('assignment').values(rows).execute()
  }
  if (kind === 'mariadb') await sql`analyze table qc_task, qc_person, assignment`.execute(db)
  else await sql`analyze`.execute(db)

  return personIds
}
