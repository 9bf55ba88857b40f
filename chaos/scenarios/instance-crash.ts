// Scenario 2: kill -9 of one of three instances behind nginx in the middle of the load. The
// other two keep serving; the killed one is started again on its port and nginx sends it
// requests again. Only the requests the killed instance held may fail, as nginx 502s.
import { setTimeout as sleep } from 'node:timers/promises'
import { ClientLoad } from '../clients.js'
import { Cluster } from '../cluster.js'
import { finishedAt } from '../ledger.js'
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
const KILL_AT_MS = 5_000
const DOWN_FOR_MS = 5_000
const REJOIN_TIMEOUT_MS = 10_000

const title = 'kill -9 of 1 of 3 instances mid-load, then restart'

export const instanceCrash: Scenario = {
  id: '2',
  title,
  async run(context) {
    const databaseUrl = await context.mariadb.createDatabase('chaos_2')
    const cluster = await Cluster.start({ dir: context.dir, databaseUrl, size: 3, proxy: true })
    const victim = cluster.instance(1)
    try {
      const load = new ClientLoad({
        endpoints: cluster.endpoints(),
        clients: CLIENTS,
        durationMs: DURATION_MS,
        seed: context.seed,
        persons: PERSONS,
        label: 's2',
      })
      await load.prepare()
      const times = { killed: 0, restarted: 0, healthy: 0, rejoined: 0 }
      const servedBy = (name: string, since: number) =>
        load.ledger.exchanges.filter(
          (e) =>
            e.outcome.ok &&
            e.outcome.status < 300 &&
            e.outcome.startedAt >= since &&
            cluster.instanceAt(e.outcome.upstream)?.name === name,
        )

      await underLoad(load, async () => {
        await sleep(KILL_AT_MS)
        context.progress(`kill -9 ${victim.name} (PID ${victim.pid})`)
        times.killed = Date.now()
        await victim.kill()
        await sleep(DOWN_FOR_MS)
        times.restarted = Date.now()
        await victim.launch()
        times.healthy = Date.now()
        context.progress(`${victim.name} healthy ${seconds(times.healthy - times.restarted)} later`)
        const deadline = Date.now() + REJOIN_TIMEOUT_MS
        while (Date.now() < deadline && !load.done) {
          const first = servedBy(victim.name, times.restarted)[0]
          if (first) {
            times.rejoined = finishedAt(first)
            break
          }
          await sleep(50)
        }
      })

      const violations: string[] = []
      for (const other of cluster.instances.filter((instance) => instance !== victim)) {
        const during = servedBy(other.name, times.killed).filter(
          (e) => finishedAt(e) < times.restarted,
        )
        if (during.length === 0) violations.push(`${other.name} served nothing while one was down`)
      }
      if (times.rejoined === 0) {
        violations.push(`${victim.name} served nothing within ${REJOIN_TIMEOUT_MS} ms of restart`)
      }
      const cut = load.ledger.errorsByKind().get('502:nginx') ?? 0
      violations.push(
        ...(await settleAndCheck({
          cluster,
          databaseUrl,
          loads: [load],
          allowedKinds: (kind, exchange) => isRefusal(kind, exchange) || kind === '502:nginx',
          causedExits: { [victim.name]: 1 },
        })),
      )

      const recovery = times.rejoined
        ? `rejoined ${seconds(times.rejoined - times.restarted)} after restart ` +
          `(healthy at ${seconds(times.healthy - times.restarted)})`
        : 'never rejoined'

      return report({ id: '2', title }, [load.ledger], violations, recovery, [
        `2: ${cut} requests in flight on the killed instance ended as nginx 502 (fate unknown ` +
          'to the client, not retried); nginx retries the instance after fail_timeout=2s',
      ])
    } finally {
      await cluster.stop().catch(() => {})
    }
  },
}
