import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sql } from 'kysely'
import { createConnection } from 'mysql2/promise'
import { OutcomeUnknownError } from '../src/store/store.js'
import { assertProblem } from './support/problems.js'
import { forEachStore, MYSQL_ADMIN_URL } from './support/stores.js'

// Faults the chaos run (npm run chaos) found, each kept here as a plain test.

forEachStore('faults after a commit', (t) => {
  test('a follow-up that fails after the commit still answers what was committed', async () => {
    const ann = (await t.service.post('/persons', { name: 'Ann' })).body.id
    await t.service.post('/login', { person_id: ann })
    await t.service.post('/tasks', { description: 'keeps Ann busy' })
    const store = t.service.store
    const original = store.hasWaitingWork
    store.hasWaitingWork = async () => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })
    }

    try {
      const reply = await t.service.post('/tasks', { description: 'stored, then the fault' })

      assert.equal(reply.status, 201)
      assert.equal(reply.body.status, 'PENDING')
      assert.equal((await t.service.get(`/tasks/${reply.body.id}`)).status, 200)
    } finally {
      store.hasWaitingWork = original
    }
  })

  test('a heartbeat that meets a deadlock is retried, not refused', async () => {
    const ann = (await t.service.post('/persons', { name: 'Ann' })).body.id
    await t.service.post('/login', { person_id: ann })
    const store = t.service.store
    const original = store.persons.refreshHeartbeat.bind(store.persons)
    let calls = 0
    store.persons.refreshHeartbeat = async (db, id, now) => {
      calls++
      if (calls === 1) throw deadlockFor(t.kind)

      return original(db, id, now)
    }

    try {
      const reply = await t.service.post('/heartbeat', { person_id: ann })

      assert.equal(reply.status, 200)
      assert.equal(calls, 2)
    } finally {
      store.persons.refreshHeartbeat = original
    }
  })
})

forEachStore(
  'a connection lost during COMMIT',
  (t) => {
    test('is reported as an unknown outcome, never as nothing changed', async () => {
      const admin = await createConnection({ uri: MYSQL_ADMIN_URL })
      try {
        const failure = await t.service.store
          .transaction(async (tx) => {
            await tx
              .insertInto('qc_task')
              .values({ description: 'in doubt', created_at: '2026-01-01 00:00:00.000' })
              .execute()
            const { rows } = await sql<{ id: number }>`select connection_id() as id`.execute(tx)
            // The server drops the session just before the COMMIT is sent.
            await admin.query(`kill connection ${Number(rows[0]?.id)}`)
          })
          .then(
            () => null,
            (error: unknown) => error,
          )

        assert.ok(failure instanceof OutcomeUnknownError, String(failure))
        assert.equal(t.service.store.classifyFailure(failure), 'outcome_unknown')
      } finally {
        await admin.end()
      }
    })

    test('answers 503 OUTCOME_UNKNOWN telling the client to check before retrying', async () => {
      const store = t.service.store
      const original = store.tasks.insert.bind(store.tasks)
      store.tasks.insert = async () => {
        throw new OutcomeUnknownError(new Error('connection lost'))
      }

      try {
        const reply = await t.service.post('/tasks', { description: 'in doubt' })

        assertProblem(reply, 503, 'OUTCOME_UNKNOWN')
        assert.match(reply.body.detail, /may or may not have been applied/)
      } finally {
        store.tasks.insert = original
      }
    })
  },
  { stores: ['mariadb'] },
)

function deadlockFor(kind: string): Error {
  return kind === 'sqlite'
    ? Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
    : Object.assign(new Error('Deadlock found'), { errno: 1213, code: 'ER_LOCK_DEADLOCK' })
}
