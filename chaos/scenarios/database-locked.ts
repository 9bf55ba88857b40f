// Scenario 4: a database that is locked rather than gone. A connection of our own holds
// SELECT ... FOR UPDATE on every qc_person row for 8 s while the instances run with
// DB_LOCK_WAIT_TIMEOUT_S=2. Requests that need an inspector's row time out cleanly (503
// DATABASE_BUSY, retried by the clients), and nothing is half-applied.
import { setTimeout as sleep } from 'node:timers/promises'
import { createConnection } from 'mysql2/promise'
import { ClientLoad } from '../clients.js'
import { Cluster } from '../cluster.js'
import { finishedAt, kindOf, type OpKind } from '../ledger.js'
import {
  CLIENTS,
  isRefusal,
  PERSONS,
  report,
  type Scenario,
  seconds,
  settleAndCheck,
  underLoad,
} from './scenario.js'

const DURATION_MS = 22_000
const LOCK_AT_MS = 5_000
const HOLD_MS = 8_000
const LOCK_WAIT_TIMEOUT_S = 2
/** The service's retry budget (8 s) plus one last lock wait, plus slack. */
const ANSWER_BOUND_MS = 8_000 + LOCK_WAIT_TIMEOUT_S * 1000 + 2_000
/** Writes that lock an inspector's row and so must wait for the holder. */
const PERSON_WRITES: ReadonlySet<OpKind> = new Set([
  'login',
  'logout',
  'heartbeat',
  'complete',
  'login-twice',
  'complete-twice',
])

const title = 'all qc_person rows locked 8 s (lock wait 2 s)'

export const databaseLocked: Scenario = {
  id: '4',
  title,
  async run(context) {
    const databaseUrl = await context.mariadb.createDatabase('chaos_4')
    const cluster = await Cluster.start({
      dir: context.dir,
      databaseUrl,
      size: 3,
      proxy: true,
      env: { DB_LOCK_WAIT_TIMEOUT_S: String(LOCK_WAIT_TIMEOUT_S) },
    })
    try {
      const load = new ClientLoad({
        endpoints: cluster.endpoints(),
        clients: CLIENTS,
        durationMs: DURATION_MS,
        seed: context.seed,
        persons: PERSONS,
        label: 's4',
      })
      await load.prepare()
      const t = { locked: 0, released: 0, rows: 0 }

      await underLoad(load, async () => {
        await sleep(LOCK_AT_MS)
        const holder = await createConnection({ uri: databaseUrl, connectTimeout: 5000 })
        try {
          await holder.query('start transaction')
          const [rows] = await holder.query('select id from qc_person for update')
          t.rows = (rows as unknown[]).length
          t.locked = Date.now()
          context.progress(`holding ${t.rows} qc_person rows for ${HOLD_MS / 1000} s`)
          await sleep(HOLD_MS)
          await holder.query('rollback')
          t.released = Date.now()
        } finally {
          await holder.end()
        }
      })

      const violations: string[] = []
      const held = load.ledger.during(t.locked, t.released)
      const busy = held.filter((e) => kindOf(e.outcome) === '503:DATABASE_BUSY')
      if (busy.length === 0) violations.push('the lock caused no 503 DATABASE_BUSY: nothing tested')
      const slow = load.ledger.exchanges.filter((e) => e.outcome.ms > ANSWER_BOUND_MS)
      if (slow.length > 0) {
        violations.push(`${slow.length} requests took over ${ANSWER_BOUND_MS} ms to be answered`)
      }
      const slowest = Math.max(0, ...held.map((e) => e.outcome.ms))

      const first = load.ledger.firstWriteSince(t.released, PERSON_WRITES)
      if (!first) violations.push('no write on an inspector succeeded after the lock was released')

      violations.push(
        ...(await settleAndCheck({
          cluster,
          databaseUrl,
          loads: [load],
          allowedKinds: (kind, exchange) =>
            isRefusal(kind, exchange) || kind === '503:DATABASE_BUSY',
        })),
      )
      const recovery = first ? `${seconds(finishedAt(first) - t.released)} to first write` : 'none'

      return report({ id: '4', title }, [load.ledger], violations, recovery, [
        `4: ${busy.length} requests answered 503 DATABASE_BUSY while ${t.rows} rows were held; ` +
          `slowest answer then ${seconds(slowest)}; recovery counted from the release to the ` +
          'first successful write that locks an inspector',
      ])
    } finally {
      await cluster.stop().catch(() => {})
    }
  },
}
