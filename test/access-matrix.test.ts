// Every route the service registers, called with every kind of credential, against the rule
// written out below. The routes come from the running app, so a route added without a rule
// here fails the first test; the rules are written here rather than read from the routes'
// own declarations, so a wrong declaration fails too.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { ApiKeys } from '../src/domain/access/api-keys.js'
import { Credentials } from '../src/domain/access/credentials.js'
import { personActor, type Role } from '../src/domain/access/roles.js'
import { tokenDigest } from '../src/domain/access/secrets.js'
import { toDbTime } from '../src/store/time.js'
import { assertProblem } from './support/problems.js'
import { forEachStore, type TestService } from './support/stores.js'

/** The people, tasks and credentials one call runs against, made fresh for each call. */
interface World {
  /** The inspector whose session calls; holds task ownTask. */
  me: number
  /** Another inspector, holding otherTask. */
  other: number
  ownTask: number
  otherTask: number
  integrationKeyId: number
  tokens: Record<Role | 'revokedKey' | 'expiredSession' | 'endedSession', string>
}

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'HEAD'
  url: string
  body?: unknown
}

type Who = Role | 'anonymous'

interface Rule {
  /** Who gets past authentication and authorisation (not 401 or 403). */
  allowed: readonly Who[]
  call: (world: World) => Call
  /**
   * The same route aimed at another inspector's person or task: an inspector's session must
   * get 403 there. Only for routes that inspectors may call for themselves.
   */
  others?: (world: World) => Call
}

const EVERYONE: readonly Who[] = ['anonymous', 'admin', 'supervisor', 'integration', 'inspector']
const KEYS: readonly Who[] = ['admin', 'supervisor', 'integration']
const STAFF: readonly Who[] = ['admin', 'supervisor']

const get = (url: string) => (): Call => ({ method: 'GET', url })

/** The access rules of the service, written from the roles table of the README. */
const RULES: Record<string, Rule> = {
  'GET /healthz': { allowed: EVERYONE, call: get('/healthz') },
  'GET /readyz': { allowed: EVERYONE, call: get('/readyz') },
  'GET /metrics': { allowed: EVERYONE, call: get('/metrics') },
  'GET /openapi.json': { allowed: EVERYONE, call: get('/openapi.json') },
  'GET /docs': { allowed: EVERYONE, call: get('/docs') },
  'GET /docs/json': { allowed: EVERYONE, call: get('/docs/json') },
  'GET /docs/yaml': { allowed: EVERYONE, call: get('/docs/yaml') },
  'GET /docs/static/index.html': { allowed: EVERYONE, call: get('/docs/static/index.html') },
  'GET /docs/static/swagger-initializer.js': {
    allowed: EVERYONE,
    call: get('/docs/static/swagger-initializer.js'),
  },
  'GET /docs/static/*': { allowed: EVERYONE, call: get('/docs/static/swagger-ui.css') },

  // The console: its page and files; a missing file answers 404, which is past the check.
  'GET /*': { allowed: EVERYONE, call: get('/') },

  'POST /persons': {
    allowed: STAFF,
    call: () => ({ method: 'POST', url: '/persons', body: { name: 'New' } }),
  },
  'PATCH /persons/:id': {
    allowed: STAFF,
    call: (w) => ({ method: 'PATCH', url: `/persons/${w.me}`, body: { name: 'Renamed' } }),
  },
  'GET /persons': { allowed: KEYS, call: get('/persons') },
  'GET /persons/available': { allowed: KEYS, call: get('/persons/available') },
  'GET /persons/:id': {
    allowed: [...KEYS, 'inspector'],
    call: (w) => ({ method: 'GET', url: `/persons/${w.me}` }),
    others: (w) => ({ method: 'GET', url: `/persons/${w.other}` }),
  },
  // Without a PIN, logging in needs a credential; the PIN sign-in has tests of its own.
  'POST /login': {
    allowed: [...KEYS, 'inspector'],
    call: (w) => ({ method: 'POST', url: '/login', body: { person_id: w.me } }),
    others: (w) => ({ method: 'POST', url: '/login', body: { person_id: w.other } }),
  },
  'POST /logout': {
    allowed: [...STAFF, 'inspector'],
    call: (w) => ({ method: 'POST', url: '/logout', body: { person_id: w.me } }),
    others: (w) => ({ method: 'POST', url: '/logout', body: { person_id: w.other } }),
  },
  'POST /heartbeat': {
    allowed: [...STAFF, 'inspector'],
    call: (w) => ({ method: 'POST', url: '/heartbeat', body: { person_id: w.me } }),
    others: (w) => ({ method: 'POST', url: '/heartbeat', body: { person_id: w.other } }),
  },
  'GET /me': { allowed: [...KEYS, 'inspector'], call: get('/me') },

  'POST /tasks': {
    allowed: KEYS,
    call: () => ({ method: 'POST', url: '/tasks', body: { description: 'Inspect' } }),
  },
  'GET /tasks': { allowed: KEYS, call: get('/tasks') },
  'GET /tasks/pending': { allowed: KEYS, call: get('/tasks/pending') },
  'GET /tasks/:id': {
    allowed: [...KEYS, 'inspector'],
    call: (w) => ({ method: 'GET', url: `/tasks/${w.ownTask}` }),
    others: (w) => ({ method: 'GET', url: `/tasks/${w.otherTask}` }),
  },
  'POST /tasks/:id/complete': {
    allowed: ['admin', 'inspector'],
    call: (w) => ({ method: 'POST', url: `/tasks/${w.ownTask}/complete` }),
    others: (w) => ({ method: 'POST', url: `/tasks/${w.otherTask}/complete` }),
  },
  'POST /tasks/:id/release': {
    allowed: [...STAFF, 'inspector'],
    call: (w) => ({ method: 'POST', url: `/tasks/${w.ownTask}/release` }),
    others: (w) => ({ method: 'POST', url: `/tasks/${w.otherTask}/release` }),
  },
  'POST /tasks/:id/cancel': {
    allowed: STAFF,
    call: (w) => ({ method: 'POST', url: `/tasks/${w.ownTask}/cancel` }),
  },

  'GET /assignments': {
    allowed: [...STAFF, 'inspector'],
    call: (w) => ({ method: 'GET', url: `/assignments?person_id=${w.me}` }),
    others: (w) => ({ method: 'GET', url: `/assignments?person_id=${w.other}` }),
  },
  'GET /assignments/export': {
    allowed: STAFF,
    call: get('/assignments/export?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z'),
  },
  'GET /dashboard': { allowed: STAFF, call: get('/dashboard') },
  // Answers 406 to a call without Accept: text/event-stream: past the access check, no stream.
  'GET /events': { allowed: [...STAFF, 'inspector'], call: get('/events') },
  'GET /audit': {
    allowed: [...STAFF, 'inspector'],
    call: (w) => ({ method: 'GET', url: `/audit?person_id=${w.me}` }),
    others: (w) => ({ method: 'GET', url: `/audit?person_id=${w.other}` }),
  },

  'POST /api-keys': {
    allowed: ['admin'],
    call: () => ({
      method: 'POST',
      url: '/api-keys',
      body: { name: `new-${randomBytes(4).toString('hex')}`, role: 'integration' },
    }),
  },
  'GET /api-keys': { allowed: ['admin'], call: get('/api-keys') },
  'DELETE /api-keys/:id': {
    allowed: ['admin'],
    call: (w) => ({ method: 'DELETE', url: `/api-keys/${w.integrationKeyId}` }),
  },
}

/** Credentials that must be refused with 401 wherever they are sent, public routes included. */
const BAD_CREDENTIALS: Record<string, (world: World) => string> = {
  'a malformed header': () => 'Bearer two words',
  'another scheme': () => 'Basic dXNlcjpwYXNz',
  'an unknown key': () => `Bearer qck_${randomBytes(32).toString('base64url')}`,
  'an unknown session': () => `Bearer qcs_${randomBytes(32).toString('base64url')}`,
  'a revoked key': (w) => `Bearer ${w.tokens.revokedKey}`,
  'an expired session': (w) => `Bearer ${w.tokens.expiredSession}`,
  'a session ended by logout': (w) => `Bearer ${w.tokens.endedSession}`,
}

/** HEAD answers as GET does; the rule of the GET route applies. */
function ruleOf(method: string, url: string): Rule | undefined {
  const rule = RULES[`${method === 'HEAD' ? 'GET' : method} ${url}`]
  if (!rule || method !== 'HEAD') return rule

  return { ...rule, call: (w) => ({ ...rule.call(w), method: 'HEAD' }) }
}

/** Two inspectors, each holding a task, and one credential of every kind. */
async function makeWorld(service: TestService): Promise<World> {
  await service.reset()
  const { store } = service
  const now = new Date()
  const at = toDbTime(now)
  const person = (name: string) =>
    store.persons.insert(store.db, { name, now: at, badgeCode: null, pinHash: null })
  const me = await person('Me')
  const other = await person('Other')
  const tasks = service.app.service
  await tasks.login(me, 'test')
  await tasks.login(other, 'test')
  const ownTask = (await tasks.createTask('Mine', undefined, 'test')).task.id
  const otherTask = (await tasks.createTask('Theirs', undefined, 'test')).task.id
  const holders = [
    await store.tasks.find(store.db, ownTask),
    await store.tasks.find(store.db, otherTask),
  ]
  // The first login got the first task; name them by who holds them.
  const [mine, theirs] =
    holders[0]?.assigned_person_id === me ? [ownTask, otherTask] : [otherTask, ownTask]

  const keys = new ApiKeys(store)
  const key = async (role: 'admin' | 'supervisor' | 'integration') =>
    keys.create(`${role}-${randomBytes(3).toString('hex')}`, role, 'test')
  const admin = await key('admin')
  const supervisor = await key('supervisor')
  const integration = await key('integration')
  const revoked = await key('supervisor')
  await keys.revoke(revoked.id, 'test')

  const credentials = new Credentials(store, {
    adminApiKey: null,
    sessionTtlS: 3600,
    clock: () => now,
  })
  const session = await credentials.openSession(me)
  const ended = await credentials.openSession(other)
  await store.sessions.revokeAllOf(store.db, other, at)
  const expiredToken = `qcs_${randomBytes(32).toString('base64url')}`
  await store.sessions.insert(store.db, {
    tokenHash: tokenDigest(expiredToken),
    personId: me,
    now: toDbTime(new Date(now.getTime() - 7200_000)),
    expiresAt: toDbTime(new Date(now.getTime() - 3600_000)),
  })

  return {
    me,
    other,
    ownTask: mine,
    otherTask: theirs,
    integrationKeyId: integration.id,
    tokens: {
      admin: admin.key,
      supervisor: supervisor.key,
      integration: integration.key,
      inspector: session.token,
      revokedKey: revoked.key,
      expiredSession: expiredToken,
      endedSession: ended.token,
    },
  }
}

async function send(service: TestService, call: Call, authorization: string) {
  return service.request(call.method, call.url, call.body, { authorization })
}

forEachStore('access matrix', (t) => {
  test('every route the service registers has a rule here, and every rule a route', () => {
    const registered = t.service.app.routes.map((route) => `${route.method} ${route.url}`)
    const missing = registered.filter((route) => {
      const [method = '', url = ''] = route.split(' ')
      return ruleOf(method, url) === undefined
    })
    const stale = Object.keys(RULES).filter((route) => !registered.includes(route))

    assert.deepEqual(missing, [], 'routes without an access rule in this test')
    assert.deepEqual(stale, [], 'rules for routes that no longer exist')
  })

  test('each role gets past exactly the routes its rule allows, and 403 elsewhere', async () => {
    const failures: string[] = []
    for (const { method, url } of t.service.app.routes) {
      const rule = ruleOf(method, url)
      if (!rule) continue
      for (const who of EVERYONE) {
        const world = await makeWorld(t.service)
        const authorization = who === 'anonymous' ? '' : `Bearer ${world.tokens[who]}`
        const reply = await send(t.service, rule.call(world), authorization)
        const expected = rule.allowed.includes(who) ? 'allowed' : who === 'anonymous' ? 401 : 403
        const passed =
          expected === 'allowed'
            ? reply.status !== 401 && reply.status !== 403 && reply.status < 500
            : reply.status === expected
        if (!passed) failures.push(`${method} ${url} as ${who}: ${reply.status}, want ${expected}`)
        else if (expected !== 'allowed' && method !== 'HEAD') assertProblem(reply, expected)
      }
    }

    assert.deepEqual(failures, [])
  })

  test('an inspector acting on another inspector or their task gets 403', async () => {
    const failures: string[] = []
    for (const { method, url } of t.service.app.routes) {
      const others = ruleOf(method, url)?.others
      if (!others || method === 'HEAD') continue
      const world = await makeWorld(t.service)
      const reply = await send(t.service, others(world), `Bearer ${world.tokens.inspector}`)
      if (reply.status !== 403) failures.push(`${method} ${url}: ${reply.status}`)
      else assertProblem(reply, 403)
    }

    assert.deepEqual(failures, [])
  })

  test('a malformed, unknown, revoked or expired credential gets 401 on every route', async () => {
    const failures: string[] = []
    const world = await makeWorld(t.service)
    for (const { method, url } of t.service.app.routes) {
      const rule = ruleOf(method, url)
      if (!rule) continue
      for (const [what, credential] of Object.entries(BAD_CREDENTIALS)) {
        const reply = await send(t.service, rule.call(world), credential(world))
        if (reply.status !== 401) failures.push(`${method} ${url} with ${what}: ${reply.status}`)
        else if (method !== 'HEAD') {
          assertProblem(reply, 401, 'UNAUTHENTICATED')
          assert.equal(reply.headers['www-authenticate'], 'Bearer')
        }
      }
    }

    assert.deepEqual(failures, [])
  })

  test('the answers to a bad credential do not tell which kind of bad it was', async () => {
    const world = await makeWorld(t.service)
    const bodies = new Set<string>()
    for (const credential of Object.values(BAD_CREDENTIALS)) {
      const reply = await t.service.request('GET', '/tasks', undefined, {
        authorization: credential(world),
      })
      const { detail, code, status } = reply.body as Record<string, unknown>
      bodies.add(JSON.stringify({ detail, code, status }))
    }

    assert.equal(bodies.size, 1, [...bodies].join('\n'))
  })

  test('the actor each credential acts as is the one /me reports', async () => {
    const world = await makeWorld(t.service)
    const me = (token: string) =>
      t.service.request('GET', '/me', undefined, { authorization: `Bearer ${token}` })

    assert.equal((await me(world.tokens.inspector)).body.actor, personActor(world.me))
    assert.match((await me(world.tokens.integration)).body.actor, /^key:integration-/)
    assert.equal((await me(world.tokens.supervisor)).body.role, 'supervisor')
  })
})
