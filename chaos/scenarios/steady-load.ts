// Scenario 1: the random mix at high concurrency, no fault: on one instance, then on three
// behind nginx. Any error besides a 4xx refusal is a violation here.
import { ClientLoad } from '../clients.js'
import { Cluster } from '../cluster.js'
import { CLIENTS, isRefusal, PERSONS, report, type Scenario, settleAndCheck } from './scenario.js'

const DURATION_MS = 15_000

export function steadyLoad(size: 1 | 3): Scenario {
  const id = size === 1 ? '1a' : '1b'
  const title = size === 1 ? 'random mix, 1 instance' : 'random mix, 3 instances behind nginx'

  return {
    id,
    title,
    async run(context) {
      const databaseUrl = await context.mariadb.createDatabase(`chaos_${id}`)
      const cluster = await Cluster.start({
        dir: context.dir,
        databaseUrl,
        size,
        proxy: size > 1,
      })
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
        context.progress(`${CLIENTS} clients for ${DURATION_MS / 1000} s`)
        await load.run()

        const served = new Map<string, number>()
        for (const { outcome } of load.ledger.exchanges) {
          const name = outcome.ok ? cluster.instanceAt(outcome.upstream)?.name : undefined
          if (name) served.set(name, (served.get(name) ?? 0) + 1)
        }
        const violations = await settleAndCheck({
          cluster,
          databaseUrl,
          loads: [load],
          allowedKinds: isRefusal,
        })
        if (size > 1) {
          const idle = cluster.instances.filter((instance) => !served.has(instance.name))
          for (const instance of idle) violations.push(`${instance.name} served no request`)
        }
        const spread = [...served].map(([name, count]) => `${name} ${count}`).join(', ')

        return report({ id, title }, [load.ledger], violations, '—', [
          ...(size > 1 ? [`${id}: answers through nginx by instance: ${spread}`] : []),
        ])
      } finally {
        await cluster.stop().catch(() => {})
      }
    },
  }
}
