// Scenario 5: SIGTERM to one of three instances under load. Most clients go through nginx;
// a few talk to the stopping instance directly, a new connection per request. Requests the
// instance had started finish; new ones are refused; it exits 0; nothing is left half-done.
import { setTimeout as sleep } from 'node:timers/promises'
import { ClientLoad } from '../clients.js'
import { Cluster } from '../cluster.js'
import { finishedAt, kindOf } from '../ledger.js'
import { servedRequestIds } from '../service-log.js'
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

const DURATION_MS = 16_000
const TERM_AT_MS = 5_000
const DIRECT_CLIENTS = 8
/** The service drains for at most 10 s. */
const DRAIN_BOUND_MS = 11_000

const title = 'SIGTERM to 1 of 3 instances mid-load'

export const gracefulStop: Scenario = {
  id: '5',
  title,
  async run(context) {
    const databaseUrl = await context.mariadb.createDatabase('chaos_5')
    const cluster = await Cluster.start({ dir: context.dir, databaseUrl, size: 3, proxy: true })
    const victim = cluster.instance(1)
    try {
      const common = { durationMs: DURATION_MS, seed: context.seed, persons: PERSONS / 2 }
      const proxied = new ClientLoad({
        ...common,
        endpoints: cluster.endpoints(),
        clients: CLIENTS - DIRECT_CLIENTS,
        label: 's5-proxied',
      })
      const direct = new ClientLoad({
        ...common,
        endpoints: [victim.endpoint(false)],
        clients: DIRECT_CLIENTS,
        label: 's5-direct',
      })
      await proxied.prepare()
      await direct.prepare()
      const t = { term: 0, exited: 0 }

      await underLoad(direct, () =>
        underLoad(proxied, async () => {
          await sleep(TERM_AT_MS)
          context.progress(`SIGTERM to ${victim.name} (PID ${victim.pid})`)
          t.term = Date.now()
          await victim.terminate()
          t.exited = Date.now()
        }),
      )

      const violations: string[] = []
      if (t.exited - t.term > DRAIN_BOUND_MS) {
        violations.push(`${victim.name} took ${seconds(t.exited - t.term)} to exit on SIGTERM`)
      }
      // A request that failed although the instance had answered it was cut off after it
      // started. One it never logged was never read: it sat in the kernel's accept queue
      // when the listener closed, and the kernel reset it (nginx then answers a POST 502).
      const served = servedRequestIds(victim.logFile)
      const failed = [...proxied.ledger.exchanges, ...direct.ledger.exchanges].filter(
        ({ outcome }) => !outcome.ok || (!outcome.fromService && outcome.status >= 500),
      )
      const cut = failed.filter(
        ({ outcome }) => (!outcome.ok && outcome.midAnswer) || served.has(outcome.requestId),
      )
      if (cut.length > 0) {
        violations.push(`${cut.length} requests the stopping instance had read were cut off`)
      }
      const early = failed.filter((e) => finishedAt(e) < t.term)
      if (early.length > 0) violations.push(`${early.length} requests failed before the SIGTERM`)
      const refused = failed.filter((e) => kindOf(e.outcome) === 'network:ECONNREFUSED').length
      const queued = failed.length - refused - cut.length

      violations.push(
        ...(await settleAndCheck({
          cluster,
          databaseUrl,
          loads: [proxied, direct],
          // Each failure was checked above against what the instance had read.
          allowedKinds: (kind, exchange) =>
            isRefusal(kind, exchange) ||
            kind === 'network:ECONNREFUSED' ||
            kind === 'network:ECONNRESET' ||
            kind === '502:nginx',
          causedExits: { [victim.name]: 1 },
        })),
      )
      return report(
        { id: '5', title },
        [proxied.ledger, direct.ledger],
        violations,
        `exited 0 after ${seconds(t.exited - t.term)}`,
        [
          `5: ${DIRECT_CLIENTS} of the ${CLIENTS} clients talk to the stopped instance directly, ` +
            `a connection per request: ${refused} of their connections were refused after the ` +
            `SIGTERM; ${queued} requests (direct, or via nginx as 502) were reset unread in the ` +
            `kernel's accept queue as the listener closed; ${cut.length} were cut off once read`,
        ],
      )
    } finally {
      await cluster.stop().catch(() => {})
    }
  },
}
