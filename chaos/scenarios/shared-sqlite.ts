// Scenario 6: two service processes on ONE SQLite file under the same random mix. Either both
// run and every rule holds (writes take turns: BEGIN IMMEDIATE under a busy timeout), or the
// second refuses to start with a clear message. The report says which happened.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClientLoad } from '../clients.js'
import { Cluster, ServiceInstance } from '../cluster.js'
import { CLIENTS, isRefusal, PERSONS, report, type Scenario, settleAndCheck } from './scenario.js'

const DURATION_MS = 15_000

const title = '2 processes on one SQLite file'

export const sharedSqlite: Scenario = {
  id: '6',
  title,
  async run(context) {
    const databaseUrl = `sqlite:${join(context.dir, 'shared.sqlite')}`
    const cluster = await Cluster.start({ dir: context.dir, databaseUrl, size: 1, proxy: false })
    try {
      let second: ServiceInstance
      try {
        second = await ServiceInstance.start({ name: 'instance-2', dir: context.dir, databaseUrl })
      } catch (error) {
        const log = readFileSync(join(context.dir, 'instance-2.log'), 'utf8').trim()
        const why = log.split('\n').at(-1) ?? (error as Error).message

        return report({ id: '6', title }, [], [], '—', [
          `6: the second process refused to start: ${why}`,
        ])
      }
      cluster.instances.push(second)

      const load = new ClientLoad({
        endpoints: cluster.endpoints(),
        clients: CLIENTS,
        durationMs: DURATION_MS,
        seed: context.seed,
        persons: PERSONS,
        label: 's6',
      })
      await load.prepare()
      context.progress(`${CLIENTS} clients over both processes for ${DURATION_MS / 1000} s`)
      await load.run()

      const violations = await settleAndCheck({
        cluster,
        databaseUrl,
        loads: [load],
        allowedKinds: isRefusal,
      })
      const verdict =
        violations.length === 0
          ? 'correct: both processes served the mix and every rule held'
          : 'NOT correct: see the violations'

      return report({ id: '6', title }, [load.ledger], violations, '—', [`6: ${verdict}`])
    } finally {
      await cluster.stop().catch(() => {})
    }
  },
}
