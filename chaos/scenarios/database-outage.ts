// Scenario 3: MariaDB stopped for ~10 s under load, then started again on the same data
// directory; 3b: the same with kill -9, so connections are reset rather than closed and the
// restart runs crash recovery. While it is down, requests fail fast with a 503 problem+json
// and /readyz says 503; once it is back, every instance heals by itself and its sweeper runs
// again.
import { setTimeout as sleep } from 'node:timers/promises'
import { ClientLoad } from '../clients.js'
import { Cluster } from '../cluster.js'
import { finishedAt, kindOf } from '../ledger.js'
import { ReadinessPoller } from '../readiness.js'
import { sweepsSince } from '../service-log.js'
import {
  CLIENTS,
  isRefusal,
  PERSONS,
  report,
  type Scenario,
  type ScenarioContext,
  type ScenarioReport,
  seconds,
  settleAndCheck,
  underLoad,
} from './scenario.js'

const DURATION_MS = 28_000
const STOP_AT_MS = 5_000
const DOWN_FOR_MS = 10_000
/** A request during the outage answered later than this hung (mysql2 gives up after 5 s). */
const HANG_BOUND_MS = 8_000
/** Every instance must serve again, and be ready, this soon after the database is back. */
const HEAL_BOUND_MS = 15_000

export function databaseOutage(how: 'stop' | 'kill'): Scenario {
  const id = how === 'stop' ? '3' : '3b'
  const title =
    how === 'stop'
      ? 'MariaDB stopped ~10 s mid-load, then restarted'
      : 'MariaDB killed (-9) ~10 s mid-load, then restarted'

  return { id, title, run: (context) => outage(context, id, title, how) }
}

async function outage(
  context: ScenarioContext,
  id: string,
  title: string,
  how: 'stop' | 'kill',
): Promise<ScenarioReport> {
  const { mariadb } = context
  const databaseUrl = await mariadb.createDatabase(`chaos_${id}`)
  const cluster = await Cluster.start({ dir: context.dir, databaseUrl, size: 3, proxy: true })
  const ready = new ReadinessPoller(cluster.instances)
  try {
    const load = new ClientLoad({
      endpoints: cluster.endpoints(),
      clients: CLIENTS,
      durationMs: DURATION_MS,
      seed: context.seed,
      persons: PERSONS,
      label: `s${id}`,
    })
    await load.prepare()
    const t = { stopping: 0, down: 0, starting: 0, up: 0 }

    await underLoad(load, async () => {
      await sleep(STOP_AT_MS)
      context.progress(`${how === 'stop' ? 'SIGTERM' : 'SIGKILL'} to MariaDB's PID`)
      t.stopping = Date.now()
      await (how === 'stop' ? mariadb.stop() : mariadb.kill())
      t.down = Date.now()
      await sleep(Math.max(0, DOWN_FOR_MS - (t.down - t.stopping)))
      context.progress(`starting MariaDB again after ${seconds(Date.now() - t.stopping)}`)
      t.starting = Date.now()
      await mariadb.start()
      t.up = Date.now()
    })
    await ready.stop()

    const violations: string[] = []
    const notes: string[] = []

    // Fail fast: nothing in flight while the database was going or gone hung.
    const outage = load.ledger.during(t.stopping, t.up)
    const slow = outage.filter((e) => e.outcome.ms > HANG_BOUND_MS)
    const slowest = Math.max(0, ...outage.map((e) => e.outcome.ms))
    if (slow.length > 0) {
      violations.push(`${slow.length} requests took over ${HANG_BOUND_MS} ms during the outage`)
    }
    const down = load.ledger.during(t.down, t.starting)
    const unavailable = down.filter((e) => kindOf(e.outcome) === '503:DATABASE_UNAVAILABLE')
    notes.push(
      `${id}: while MariaDB was down ${unavailable.length} of ${down.length} requests were ` +
        `503 DATABASE_UNAVAILABLE; slowest answer during the outage ${seconds(slowest)}`,
    )

    // Readiness: 503 throughout the outage, 200 again soon after.
    const window = { down: t.down, back: t.starting, up: t.up }
    const readiness = ready.judgeOutage(window, HEAL_BOUND_MS)
    violations.push(...readiness.violations)

    // Recovery: the first write that succeeded once the database answered again.
    const first = load.ledger.firstWriteSince(t.starting)
    const recoveryMs = first ? finishedAt(first) - t.starting : null
    if (recoveryMs === null || recoveryMs > HEAL_BOUND_MS) {
      violations.push(`no write succeeded within ${HEAL_BOUND_MS} ms of the database's return`)
    }

    violations.push(
      ...(await settleAndCheck({
        cluster,
        databaseUrl,
        loads: [load],
        allowedKinds: (kind, exchange) =>
          isRefusal(kind, exchange) ||
          kind === '503:DATABASE_UNAVAILABLE' ||
          // A connection lost mid-COMMIT: the service says it cannot know, which is the truth.
          kind === '503:OUTCOME_UNKNOWN',
      })),
    )

    // The sweeper survived: each instance finished a sweep after the database came back.
    for (const instance of cluster.instances) {
      const sweeps = sweepsSince(instance.logFile, t.up)
      if (sweeps.length === 0) violations.push(`${instance.name}: no sweep after the restart`)
    }
    notes.push(
      `${id}: MariaDB took ${seconds(t.down - t.stopping)} to stop, and from its restart ` +
        `${seconds(t.up - t.starting)} to accept connections; from then to /readyz 200: ` +
        `${readiness.healed.join(', ')}; recovery counts from the restart to the first ` +
        'successful write',
    )
    const recovery = recoveryMs === null ? 'none' : `${seconds(recoveryMs)} to first write`

    return report({ id, title }, [load.ledger], violations, recovery, notes)
  } finally {
    await ready.stop()
    await cluster.stop().catch(() => {})
  }
}
