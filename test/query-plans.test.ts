import assert from 'node:assert/strict'
import { it } from 'node:test'
import { CompiledQuery, type Kysely, sql } from 'kysely'
import { claimTemplates, type StoreKind, type Template } from '../bench/captured-sql.js'
import type { Database } from '../src/store/schema.js'
import { forEachStore, type StoreName } from './support/stores.js'

// The claims' SQL is the service's own: bench/captured-sql.ts compiles it from the query
// classes in src/store (PersonQueries.claimLongestFree, TaskQueries.claimOldestPending).

const TASKS = 3000
const PERSONS = 400

const kindOf = (store: StoreName): StoreKind => (store === 'mariadb' ? 'mysql' : 'sqlite')

/** Enough rows of every state that a full scan or a sort would be a real choice. */
async function seed(db: Kysely<Database>, store: StoreName): Promise<void> {
  const time = (ms: number) => new Date(Date.UTC(2024, 0, 1) + ms).toISOString()
  const dbTime = (ms: number) => time(ms).slice(0, 23).replace('T', ' ')
  const statuses = ['PENDING', 'IN_PROGRESS', 'DONE'] as const
  for (let first = 0; first < TASKS; first += 500) {
    const rows = Array.from({ length: 500 }, (_, i) => ({
      description: `plan ${first + i}`,
      status: statuses[(first + i) % 3] ?? 'PENDING',
      created_at: dbTime(first + i),
    }))
    await db.insertInto('qc_task').values(rows).execute()
  }
  const persons = Array.from({ length: PERSONS }, (_, i) => ({
    name: `plan ${i}`,
    is_logged_in: i % 4 === 0 ? 0 : 1,
    is_busy: i % 2,
    available_since: i % 4 !== 0 && i % 2 === 0 ? dbTime(i) : null,
    created_at: dbTime(0),
  }))
  await db.insertInto('qc_person').values(persons).execute()
  if (store === 'mariadb') await sql`analyze table qc_task, qc_person`.execute(db)
  else await sql`analyze`.execute(db)
}

async function plan(db: Kysely<Database>, store: StoreName, query: Template): Promise<string[]> {
  const params = query.params.map((p) => ('value' in p ? p.value : null))
  if (store === 'sqlite') {
    const result = await db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${query.sql}`, params),
    )

    return result.rows.map((row) => row.detail)
  }
  const result = await db.executeQuery<Record<string, unknown>>(
    CompiledQuery.raw(`explain ${query.sql}`, params),
  )

  return result.rows.map(
    (row) => `table=${row.table} type=${row.type} key=${row.key} extra=${row.Extra}`,
  )
}

function assertUsesIndex(store: StoreName, lines: string[], table: string, index: string) {
  const shown = lines.join(' | ')
  if (store === 'sqlite') {
    // SEARCH walks part of an index; SCAN reads the whole table or the whole index.
    assert.match(shown, new RegExp(`^SEARCH ${table} USING (COVERING )?INDEX ${index} `))
    assert.doesNotMatch(shown, /\bSCAN\b/, `a full scan: ${shown}`)
    assert.doesNotMatch(shown, /TEMP B-TREE/, `a sort: ${shown}`)
    return
  }
  assert.equal(lines.length, 1, shown)
  assert.match(shown, new RegExp(`table=${table} type=(ref|range) key=${index} `))
  assert.doesNotMatch(shown, /filesort/i, `a sort: ${shown}`)
  assert.doesNotMatch(shown, /temporary/i, `a temporary table: ${shown}`)
}

forEachStore('query plans of the claims', (context) => {
  it('picking the next task walks qc_task_queue: no full scan, no sort', async () => {
    const db = context.service.store.db
    await seed(db, context.kind)
    const { task } = await claimTemplates(kindOf(context.kind))

    assertUsesIndex(context.kind, await plan(db, context.kind, task), 'qc_task', 'qc_task_queue')
  })

  it('picking the next inspector walks qc_person_free_queue: no full scan, no sort', async () => {
    const db = context.service.store.db
    await seed(db, context.kind)
    const { person } = await claimTemplates(kindOf(context.kind))
    const lines = await plan(db, context.kind, person)

    assertUsesIndex(context.kind, lines, 'qc_person', 'qc_person_free_queue')
  })
})
