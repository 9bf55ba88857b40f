// npm run chaos: starts a private MariaDB, service instances and nginx on loopback, drives
// them with simulated clients while injecting faults, checks the database after each
// scenario, prints one Markdown table, and exits 1 if anything broke a rule.
//
//   npm run chaos -- [--only=1a,3] [--seed=N] [--no-build] [--keep]
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { PrivateMariaDb } from './mariadb.js'
import { killAllOwnedNow, runningChildren } from './processes.js'
import { Overrun, stopOnSignal, within } from './run-control.js'
import { databaseLocked } from './scenarios/database-locked.js'
import { databaseOutage } from './scenarios/database-outage.js'
import { gracefulStop } from './scenarios/graceful-stop.js'
import { instanceCrash } from './scenarios/instance-crash.js'
import {
  CLIENTS,
  report,
  type Scenario,
  type ScenarioReport,
  SWEEP_INTERVAL_MS,
} from './scenarios/scenario.js'
import { sharedSqlite } from './scenarios/shared-sqlite.js'
import { steadyLoad } from './scenarios/steady-load.js'
import { renderTable } from './table.js'

const SCENARIOS: Scenario[] = [
  steadyLoad(1),
  steadyLoad(3),
  instanceCrash,
  databaseOutage('stop'),
  databaseOutage('kill'),
  databaseLocked,
  gracefulStop,
  sharedSqlite,
]
/** No scenario runs longer than this; the whole run is stopped if one does. */
const SCENARIO_TIMEOUT_MS = 90_000
/** No scenario starts after this long; those left are reported as not run. */
const RUN_BUDGET_MS = 6 * 60_000
const ROOT = new URL('..', import.meta.url).pathname

const progress = (message: string) => process.stderr.write(`chaos: ${message}\n`)

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      seed: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  })
  const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31))
  const only = values.only?.split(',')
  const scenarios = only ? SCENARIOS.filter((s) => only.includes(s.id)) : SCENARIOS
  if (scenarios.length === 0) throw new Error(`--only=${values.only} names no scenario`)

  if (!values['no-build']) build()
  const scratch = mkdtempSync(join(tmpdir(), 'qc-chaos-'))
  let mariadb: PrivateMariaDb | null = null
  const cleanup = async () => {
    await stopEverything(mariadb)
    if (values.keep) progress(`kept ${scratch}`)
    else rmSync(scratch, { recursive: true, force: true })
  }
  stopOnSignal(cleanup, progress)

  const started = Date.now()
  const reports: ScenarioReport[] = []
  try {
    progress(`seed ${seed}; scratch ${scratch}`)
    mariadb = await PrivateMariaDb.create(join(scratch, 'mariadb'))
    progress(`private MariaDB on 127.0.0.1:${mariadb.port}`)
    for (const scenario of scenarios) {
      if (Date.now() - started > RUN_BUDGET_MS) {
        reports.push(report(scenario, [], ['not run: the run had used its time budget'], 'none'))
        continue
      }
      progress(`${scenario.id}. ${scenario.title}`)
      const context = {
        dir: join(scratch, scenario.id),
        mariadb,
        seed,
        progress: (message: string) => progress(`  ${scenario.id}: ${message}`),
      }
      // A scenario that fails (a process that will not start, say) is reported and the run
      // goes on; one that overruns its time stops the run, as its processes may still act.
      const result = await within(
        SCENARIO_TIMEOUT_MS,
        scenario.run(context),
        `scenario ${scenario.id}`,
      ).catch((error: unknown) => {
        if (error instanceof Overrun) throw error

        return report(scenario, [], [`the scenario failed: ${String(error)}`], 'none')
      })
      reports.push(result)
      progress(`  ${scenario.id}: ${result.violations.length} violations`)
      if (!mariadb.running) await mariadb.start()
    }
  } finally {
    await cleanup()
  }

  const wallS = Math.round((Date.now() - started) / 1000)
  process.stdout.write(
    renderTable(reports, [
      `seed ${seed} (repeat the mix with --seed=${seed}); wall time ${wallS} s`,
      `${CLIENTS} concurrent clients per scenario; SWEEP_INTERVAL_MS=${SWEEP_INTERVAL_MS} ` +
        '(not the default 5000) to keep the run short',
      'errors count requests; clients send a write again (at most 4 attempts) after a 503 ' +
        'from the service or a refused connection, and after any failure when it is safe to ' +
        '(creations with an Idempotency-Key, completions naming the inspector)',
    ]),
  )

  return reports.some((r) => r.violations.length > 0) ? 1 : 0
}

function build(): void {
  progress('building dist/ (npm run build)')
  const result = spawnSync('npm', ['run', '--silent', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 180_000,
  })
  if (result.status !== 0) throw new Error('npm run build failed; the chaos run needs dist/')
}

async function stopEverything(mariadb: PrivateMariaDb | null): Promise<void> {
  // Scenarios stop their own processes; whatever is left (after an error) goes here.
  for (const child of runningChildren()) {
    if (child.name !== 'mariadbd') await child.stop('SIGTERM', 5000).catch(() => {})
  }
  await mariadb?.stop().catch((error: Error) => progress(`stopping MariaDB: ${error.message}`))
  killAllOwnedNow()
}

// Last resort: whatever way the runner ends, no child it started outlives it.
process.on('exit', killAllOwnedNow)

// process.exit: keep-alive sockets of the clients must not hold the runner open.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`)
    process.exit(2)
  },
)
