// npm run bench: starts what it needs on 127.0.0.1 (a private MariaDB on a port and data
// directory of its own, service instances, nginx), runs each scenario with bounded time,
// prints one table and writes it to bench/RESULTS.md with the machine and versions.
//
//   npm run bench -- [--store mariadb|sqlite] [--only 1,3] [--quick] [--keep]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createConnection } from 'mysql2/promise'
import { PrivateMariaDb } from '../chaos/mariadb.js'
import { killAllOwnedNow } from '../chaos/processes.js'
import { stopOnSignal, within } from '../chaos/run-control.js'
import { BenchContext, type BenchOptions } from './context.js'
import { describeEnvironment } from './environment.js'
import { writeResults } from './results-file.js'
import { completionCycle } from './scenarios/completion.js'
import { creation } from './scenarios/creation.js'
import { eventLatency } from './scenarios/event-latency.js'
import { memory } from './scenarios/memory.js'
import { scale } from './scenarios/scale.js'
import { scaleOut } from './scenarios/scale-out.js'
import type { Scenario, ScenarioReport } from './scenarios/scenario.js'
import { shift } from './scenarios/shift.js'
import { renderResults } from './table.js'

const SCENARIOS: Scenario[] = [
  completionCycle,
  creation,
  shift,
  scale,
  memory,
  scaleOut,
  eventLatency,
]
/** A scenario still running after this is abandoned and reported as failed. */
const TIMEOUT_MS = { full: 9 * 60_000, quick: 2 * 60_000 }
/** The private server's buffer pool: a million tasks and their indexes fit in memory. */
const BUFFER_POOL_BYTES = 1024 * 1024 * 1024

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`)

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: 'mariadb' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'pool-size': { type: 'string', default: '10' },
      keep: { type: 'boolean', default: false },
    },
  })
  if (values.store !== 'mariadb' && values.store !== 'sqlite') {
    throw new Error(`--store must be mariadb or sqlite, got ${values.store}`)
  }
  const only = values.only?.split(',').map(Number)
  const scenarios = only ? SCENARIOS.filter((s) => only.includes(s.id)) : SCENARIOS
  if (scenarios.length === 0) {
    throw new Error(`--only ${values.only} names no scenario (1 to ${SCENARIOS.length})`)
  }
  const options: BenchOptions = {
    store: values.store,
    quick: values.quick,
    poolSize: Number(values['pool-size']),
    logLevel: 'info',
  }
  const args = process.argv.slice(2).join(' ')
  const command = args ? `npm run bench -- ${args}` : 'npm run bench'

  const started = Date.now()
  const environment = [...describeEnvironment(), setUp(options)]
  const scratch = mkdtempSync(join(tmpdir(), 'qc-bench-'))
  let mariadb: PrivateMariaDb | null = null
  let context: BenchContext | null = null
  const cleanup = async () => {
    await context?.stopAllServices()
    await mariadb?.stop().catch((error: Error) => progress(`stopping MariaDB: ${error.message}`))
    killAllOwnedNow()
    if (values.keep) progress(`kept ${scratch}`)
    else rmSync(scratch, { recursive: true, force: true })
  }
  stopOnSignal(cleanup, progress)

  const reports: ScenarioReport[] = []
  try {
    progress(`scratch ${scratch}`)
    const mariadbDir = join(scratch, 'mariadb')
    if (options.store === 'mariadb') {
      mariadb = await PrivateMariaDb.create(mariadbDir)
      await tune(mariadb)
      progress(`private MariaDB on 127.0.0.1:${mariadb.port}`)
    }
    context = new BenchContext(scratch, options, mariadb, mariadb ? mariadbDir : null, progress)
    for (const scenario of scenarios) {
      progress(`${scenario.id}. ${scenario.title}`)
      const ctx = context
      const scenarioStarted = Date.now()
      const timeout = options.quick ? TIMEOUT_MS.quick : TIMEOUT_MS.full
      const report = await within(timeout, scenario.run(ctx), `scenario ${scenario.id}`).catch(
        (error: unknown) => failed(scenario, error),
      )
      await ctx.stopAllServices()
      reports.push(report)
      progress(`  ${scenario.id}: done in ${Math.round((Date.now() - scenarioStarted) / 1000)} s`)
    }
  } finally {
    await cleanup()
  }

  const wallS = Math.round((Date.now() - started) / 1000)
  const table = renderResults(reports)
  process.stdout.write(`${table}\nWall time ${wallS} s (${command}).\n`)
  if (only) {
    progress('a run of some scenarios (--only) is printed, not written to bench/RESULTS.md')
    return
  }
  const file = writeResults({ options, command, wallS, environment, table })
  progress(`written to ${file}`)
}

/** How the service and its database were set up, for the head of the results. */
function setUp(options: BenchOptions): string {
  const store =
    options.store === 'mariadb'
      ? 'a private MariaDB (chaos/mariadb.ts: --no-defaults, its own data directory and ' +
        `port; innodb_buffer_pool_size ${BUFFER_POOL_BYTES / 2 ** 30} GiB, commits durable)`
      : 'SQLite files in a scratch directory (WAL, synchronous NORMAL, as the service sets)'

  return (
    `Service: node dist/server.js per instance, DB_POOL_SIZE=${options.poolSize}, ` +
    `LOG_LEVEL=${options.logLevel}, SWEEP_INTERVAL_MS=5000, on ${store}; clients: node:http ` +
    'with keep-alive agents, in the runner process'
  )
}

/** Settings of the private server only; the shared server on 3306 is never touched. */
async function tune(mariadb: PrivateMariaDb): Promise<void> {
  const connection = await createConnection({ uri: mariadb.url('mysql'), connectTimeout: 5000 })
  try {
    await connection.query(`set global innodb_buffer_pool_size = ${BUFFER_POOL_BYTES}`)
  } finally {
    await connection.end()
  }
}

function failed(scenario: Scenario, error: unknown): ScenarioReport {
  const message = error instanceof Error ? error.message : String(error)
  progress(`  ${scenario.id} failed: ${error instanceof Error ? error.stack : message}`)

  return {
    id: scenario.id,
    title: scenario.title,
    rows: [
      {
        measure: scenario.title,
        service: 'failed',
        reference: '-',
        ratio: '-',
        goal: '-',
        met: 'no',
      },
    ],
    notes: [`Failed: ${message}`],
  }
}

// Last resort: whatever way the run ends, no child it started outlives it.
process.on('exit', killAllOwnedNow)

// process.exit: keep-alive sockets of the clients must not hold the runner open.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`)
    process.exit(2)
  },
)
