// Who may act: inspectors' PIN sign-in and its throttle, sessions that end, keys that are
// revoked, and the actor every change is recorded with.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../src/config.js'
import { assertProblem } from './support/problems.js'
import { forEachStore, TestDatabase, TestService } from './support/stores.js'

const PIN = '4711-ok'
const as = (token: string) => ({ authorization: `Bearer ${token}` })
const anonymous = { authorization: '' }

forEachStore(
  'signing in and acting as someone',
  (t) => {
    const inspector = async (name: string, extra: Record<string, unknown> = {}) =>
      (await t.service.post('/persons', { name, pin: PIN, ...extra })).body.id as number
    const signIn = (body: Record<string, unknown>) =>
      t.service.request('POST', '/login', body, anonymous)
    const key = async (role: string, name: string) => {
      const reply = await t.service.post('/api-keys', { name, role })
      assert.equal(reply.status, 201, JSON.stringify(reply.body))
      return reply.body as { id: number; key: string }
    }

    /** qc_sign_in_attempts_total by outcome, from /metrics. */
    const signInCounts = async () => {
      const text: string = (await t.service.get('/metrics')).body
      const count = (outcome: string) =>
        Number(
          new RegExp(`qc_sign_in_attempts_total\\{outcome="${outcome}"\\} (\\d+)`).exec(
            text,
          )?.[1] ?? 0,
        )

      return { failed: count('failed'), refused: count('refused') }
    }

    test('an inspector signs in with id or badge and PIN, and gets a session token', async () => {
      const ann = await inspector('Ann', { badge_code: 'BADGE-7' })

      const byId = await signIn({ person_id: ann, pin: PIN })
      const byBadge = await signIn({ badge_code: 'BADGE-7', pin: PIN })

      for (const reply of [byId, byBadge]) {
        assert.equal(reply.status, 200, JSON.stringify(reply.body))
        assert.equal(reply.body.person.id, ann)
        assert.equal(reply.body.person.state, 'free')
        assert.match(reply.body.session.token, /^qcs_[\w-]{43}$/)
      }
      const me = await t.service.get('/me', as(byBadge.body.session.token))
      assert.equal(me.body.actor, `person:${ann}`)
      assert.equal(me.body.person.has_pin, true)
      assert.equal('pin_hash' in me.body.person, false)
    })

    test('a wrong PIN and an unknown person get the same 401, and neither signs in', async () => {
      const ann = await inspector('Ann')
      const wrong = await signIn({ person_id: ann, pin: 'not-it' })
      const unknown = await signIn({ person_id: ann + 1000, pin: PIN })
      const noPin = await inspector('Bob', { pin: undefined })
      const withoutPin = await signIn({ person_id: noPin, pin: PIN })

      for (const reply of [wrong, unknown, withoutPin]) {
        assertProblem(reply, 401, 'SIGN_IN_FAILED')
        assert.equal(reply.body.detail, wrong.body.detail)
      }
      assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'offline')
    })

    test('failures count per person: past the limit even the right PIN gets 429', async () => {
      const before = await signInCounts()
      const ann = await inspector('Ann')
      for (let attempt = 0; attempt < 3; attempt++) {
        assertProblem(await signIn({ person_id: ann, pin: 'guess' }), 401)
      }

      const refused = await signIn({ person_id: ann, pin: PIN })

      assertProblem(refused, 429, 'TOO_MANY_SIGN_IN_ATTEMPTS')
      assert.ok(Number(refused.headers['retry-after']) > 0)
      assert.equal((await t.service.get(`/persons/${ann}`)).body.state, 'offline')
      const counted = await signInCounts()
      assert.equal(counted.failed - before.failed, 3)
      assert.equal(counted.refused - before.refused, 1)
    })

    test('failures are counted per address too: guessing across people is refused', async () => {
      const people = await Promise.all(['A', 'B', 'C', 'D'].map((name) => inspector(name)))
      // Three per person is allowed; the address allows four times that, 12.
      for (const person of people) {
        for (let attempt = 0; attempt < 3; attempt++) {
          assertProblem(await signIn({ person_id: person, pin: 'guess' }), 401)
        }
      }
      const fresh = await inspector('E')

      assertProblem(await signIn({ person_id: fresh, pin: PIN }), 429)
    })

    test('guesses sent all at once are held to the same limit, and none gets through', async () => {
      const ann = await inspector('Ann')
      const guesses = Array.from({ length: 30 }, (_, n) => `${1000 + n}`)

      const replies = await Promise.all(guesses.map((pin) => signIn({ person_id: ann, pin })))

      const statuses = replies.map((reply) => reply.status)
      assert.equal(statuses.filter((status) => status === 401).length, 3, statuses.join(' '))
      assert.equal(statuses.filter((status) => status === 429).length, 27)
      assertProblem(await signIn({ person_id: ann, pin: PIN }), 429)
    })

    test('an inspector locked out who keeps trying does not lock out their station', async () => {
      const ann = await inspector('Ann')
      const bob = await inspector('Bob')
      for (let attempt = 0; attempt < 3; attempt++) await signIn({ person_id: ann, pin: 'nope' })
      for (let attempt = 0; attempt < 15; attempt++) {
        assertProblem(await signIn({ person_id: ann, pin: 'nope' }), 429)
      }

      assert.equal((await signIn({ person_id: bob, pin: PIN })).status, 200)
    })

    test('the person id and the badge share one count', async () => {
      const ann = await inspector('Ann', { badge_code: 'A-9' })
      assertProblem(await signIn({ person_id: ann, pin: 'guess' }), 401)
      assertProblem(await signIn({ badge_code: 'A-9', pin: 'guess' }), 401)
      assertProblem(await signIn({ person_id: ann, pin: 'guess' }), 401)

      assertProblem(await signIn({ badge_code: 'A-9', pin: PIN }), 429)
    })

    test('a new PIN ends the old sessions and lifts a refusal', async () => {
      const ann = await inspector('Ann')
      const { token } = (await signIn({ person_id: ann, pin: PIN })).body.session
      for (let attempt = 0; attempt < 3; attempt++) await signIn({ person_id: ann, pin: 'nope' })
      assertProblem(await signIn({ person_id: ann, pin: PIN }), 429)

      const changed = await t.service.request('PATCH', `/persons/${ann}`, { pin: '9753' })

      assert.equal(changed.status, 200)
      assertProblem(await t.service.get('/me', as(token)), 401)
      assertProblem(await signIn({ person_id: ann, pin: PIN }), 401)
      assert.equal((await signIn({ person_id: ann, pin: '9753' })).status, 200)
    })

    test('answers that carry a token or a key are never cached', async () => {
      const ann = await inspector('Ann')
      const signedIn = await signIn({ person_id: ann, pin: PIN })
      const made = await t.service.post('/api-keys', { name: 'mes', role: 'integration' })

      assert.equal(signedIn.headers['cache-control'], 'no-store')
      assert.equal(made.headers['cache-control'], 'no-store')
    })

    test('an inspector logs themself in again with their session and no body', async () => {
      const ann = await inspector('Ann')
      const { token } = (await signIn({ person_id: ann, pin: PIN })).body.session
      await t.service.post('/logout', { person_id: ann }, as(token)).catch(() => undefined)
      const again = await signIn({ person_id: ann, pin: PIN })

      const reply = await t.service.request(
        'POST',
        '/login',
        undefined,
        as(again.body.session.token),
      )

      assert.equal(reply.status, 200, JSON.stringify(reply.body))
      assert.equal(reply.body.person.id, ann)
    })

    test('a key may log an inspector in on their behalf, by badge, without a token', async () => {
      const ann = await inspector('Ann', { badge_code: 'B-1' })
      const reader = await key('integration', 'badge-reader')

      const reply = await t.service.post('/login', { badge_code: 'B-1' }, as(reader.key))

      assert.equal(reply.status, 200, JSON.stringify(reply.body))
      assert.equal(reply.body.person.id, ann)
      assert.equal(reply.body.session, undefined)
      const audit = await t.service.get(`/audit?person_id=${ann}`)
      const login = audit.body.items.find((e: { type: string }) => e.type === 'person_logged_in')
      assert.equal(login.actor, 'key:badge-reader')
    })

    test('logging out ends the session: the token is refused afterwards', async () => {
      const ann = await inspector('Ann')
      const { token } = (await signIn({ person_id: ann, pin: PIN })).body.session

      assert.equal((await t.service.post('/logout', undefined, as(token))).status, 200)

      assertProblem(await t.service.get('/me', as(token)), 401, 'UNAUTHENTICATED')
    })

    test('a supervisor logging an inspector out ends their sessions as well', async () => {
      const ann = await inspector('Ann')
      const { token } = (await signIn({ person_id: ann, pin: PIN })).body.session
      const lead = await key('supervisor', 'lead')

      await t.service.post('/logout', { person_id: ann }, as(lead.key))

      assertProblem(await t.service.post('/heartbeat', undefined, as(token)), 401)
    })

    test('a revoked key is refused at once', async () => {
      const mes = await key('integration', 'mes')
      assert.equal((await t.service.get('/tasks', as(mes.key))).status, 200)

      const revoked = await t.service.request('DELETE', `/api-keys/${mes.id}`)

      assert.equal(revoked.status, 200)
      assert.ok(revoked.body.revoked_at)
      assertProblem(await t.service.get('/tasks', as(mes.key)), 401, 'UNAUTHENTICATED')
      const listed = await t.service.get('/api-keys')
      assert.equal(JSON.stringify(listed.body).includes(mes.key), false, 'keys are never listed')
    })

    test('a key name is never reused, even after the key is revoked', async () => {
      const mes = await key('integration', 'mes')
      await t.service.request('DELETE', `/api-keys/${mes.id}`)

      assertProblem(await t.service.post('/api-keys', { name: 'mes', role: 'admin' }), 409)
    })

    test('an inspector completes their own task with their token, named for it', async () => {
      const ann = await inspector('Ann')
      const mes = await key('integration', 'mes')
      const { token } = (await signIn({ person_id: ann, pin: PIN })).body.session
      const task = (await t.service.post('/tasks', { description: 'Weld' }, as(mes.key))).body

      const done = await t.service.post(`/tasks/${task.id}/complete`, undefined, as(token))

      assert.equal(done.status, 200, JSON.stringify(done.body))
      assert.equal(done.body.completed.created_by, 'key:mes')
      const [assignment] = (await t.service.get(`/assignments?task_id=${task.id}`)).body.items
      assert.equal(assignment.started_by, 'key:mes')
      assert.equal(assignment.ended_by, `person:${ann}`)
      const trail = (await t.service.get(`/audit?task_id=${task.id}`)).body.items
      assert.deepEqual(
        trail.map((e: { type: string; actor: string }) => `${e.type} by ${e.actor}`).reverse(),
        ['task_created by key:mes', 'task_assigned by key:mes', `task_completed by person:${ann}`],
      )
    })

    test("an inspector's own task in the wrong state gets 409; another's gets 403", async () => {
      const ann = await inspector('Ann')
      const bob = await inspector('Bob')
      const annToken = (await signIn({ person_id: ann, pin: PIN })).body.session.token
      const bobToken = (await signIn({ person_id: bob, pin: PIN })).body.session.token
      const task = (await t.service.post('/tasks', { description: 'Weld' })).body
      const holder = task.assigned_person_id === ann ? annToken : bobToken
      const other = holder === annToken ? bobToken : annToken
      await t.service.post(`/tasks/${task.id}/complete`, undefined, as(holder))

      const ownReleased = await t.service.post(`/tasks/${task.id}/release`, undefined, as(holder))
      const othersCompleted = await t.service.post(
        `/tasks/${task.id}/complete`,
        undefined,
        as(other),
      )

      assertProblem(ownReleased, 409, 'TASK_ALREADY_DONE')
      assertProblem(othersCompleted, 403, 'NOT_YOURS')
    })

    test('an inspector reads only their own history', async () => {
      const ann = await inspector('Ann')
      await inspector('Bob')
      const { token } = (await signIn({ person_id: ann, pin: PIN })).body.session

      const mine = await t.service.get('/assignments', as(token))
      const audit = await t.service.get('/audit', as(token))

      assert.equal(mine.status, 200)
      for (const event of audit.body.items) assert.equal(event.person_id, ann)
    })

    test('a PIN shorter than 4 characters is refused when an inspector is created', async () => {
      assertProblem(await t.service.post('/persons', { name: 'Ann', pin: '123' }), 400)
      assertProblem(await t.service.post('/persons', { name: 'Ann', badge_code: 'a b' }), 400)
    })

    test('two inspectors cannot share a badge', async () => {
      await inspector('Ann', { badge_code: 'B-1' })
      const bob = await t.service.post('/persons', { name: 'Bob', badge_code: 'B-1' })

      assertProblem(bob, 409, 'BADGE_TAKEN')
    })
  },
  { env: { SIGN_IN_MAX_FAILURES: '3', SIGN_IN_DELAY_MS: '0' } },
)

forEachStore(
  'a failed sign-in is slowed down',
  (t) => {
    test('each further failure waits longer before it is answered', async () => {
      const ann = (await t.service.post('/persons', { name: 'Ann', pin: PIN })).body.id
      const timed = async () => {
        const started = performance.now()
        const reply = await t.service.request(
          'POST',
          '/login',
          { person_id: ann, pin: 'xxxx' },
          anonymous,
        )
        assertProblem(reply, 401, 'SIGN_IN_FAILED')
        return performance.now() - started
      }

      const first = await timed()
      const second = await timed()

      // Lower bounds only: 100 ms, then 200 ms of added delay; a busy machine only adds.
      assert.ok(first >= 100, `first failure answered after ${first} ms`)
      assert.ok(second >= 200, `second failure answered after ${second} ms`)
    })
  },
  { env: { SIGN_IN_DELAY_MS: '100' }, stores: ['sqlite'] },
)

test('sessions expire after SESSION_TTL_S, and a refusal lasts SIGN_IN_LOCKOUT_S', async () => {
  let now = new Date('2026-12-04T08:00:00Z')
  const database = await TestDatabase.create('sqlite')
  const env = {
    SESSION_TTL_S: '3600',
    SIGN_IN_MAX_FAILURES: '1',
    SIGN_IN_LOCKOUT_S: '600',
    SIGN_IN_DELAY_MS: '0',
  }
  const service = await TestService.start(database.url, env, () => now)
  try {
    const ann = (await service.post('/persons', { name: 'Ann', pin: PIN })).body.id
    const { token } = (
      await service.request('POST', '/login', { person_id: ann, pin: PIN }, anonymous)
    ).body.session
    now = new Date(now.getTime() + 3599_000)
    assert.equal((await service.get('/me', as(token))).status, 200)
    now = new Date(now.getTime() + 2000)
    assertProblem(await service.get('/me', as(token)), 401)
    await service.app.sweeper.sweepOnce()
    const kept = await service.store.db.selectFrom('inspector_session').selectAll().execute()
    assert.deepEqual(kept, [], 'the sweep deletes sessions nobody can use')

    const attempt = (pin: string) =>
      service.request('POST', '/login', { person_id: ann, pin }, anonymous)
    assertProblem(await attempt('wrong'), 401)
    assertProblem(await attempt(PIN), 429)
    now = new Date(now.getTime() + 601_000)
    assert.equal((await attempt(PIN)).status, 200)
  } finally {
    await service.stop()
    await database.drop()
  }
})

test('AUTH=off is refused unless the service listens on loopback only', () => {
  const base = { DATABASE_URL: 'sqlite::memory:' }

  assert.throws(() => loadConfig({ ...base, AUTH: 'off', HOST: '0.0.0.0' }), /AUTH=off is refused/)
  assert.throws(() => loadConfig({ ...base, AUTH: 'off', HOST: '10.1.2.3' }), /AUTH=off/)
  assert.equal(loadConfig({ ...base, AUTH: 'off', HOST: '127.0.0.1' }).authEnabled, false)
  assert.equal(loadConfig({ ...base, HOST: '0.0.0.0' }).authEnabled, true)
})

test('an ADMIN_API_KEY that is too short or cannot be sent is refused, not echoed', () => {
  for (const secret of ['short-but-secret', 'correct horse battery staple!! 2026 admin']) {
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'sqlite::memory:', ADMIN_API_KEY: secret }),
      (error: Error) => /ADMIN_API_KEY/.test(error.message) && !error.message.includes(secret),
    )
  }
})

test('with AUTH=off every request acts as an admin, recorded as anonymous', async () => {
  const database = await TestDatabase.create('sqlite')
  const service = await TestService.start(database.url, { AUTH: 'off', HOST: '127.0.0.1' })
  try {
    const task = await service.post('/tasks', { description: 'x' }, anonymous)
    const fromAPage = await service.post(
      '/tasks',
      { description: 'sent by another site' },
      { ...anonymous, 'sec-fetch-site': 'cross-site' },
    )

    assert.equal(task.status, 201)
    assert.equal(task.body.created_by, 'anonymous')
    assertProblem(fromAPage, 403, 'CROSS_SITE')
  } finally {
    await service.stop()
    await database.drop()
  }
})
