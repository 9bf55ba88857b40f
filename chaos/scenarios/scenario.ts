import { setTimeout as sleep } from 'node:timers/promises'
import { type AllowedKinds, checkScenario } from '../checks.js'
import type { ClientLoad } from '../clients.js'
import type { Cluster } from '../cluster.js'
import type { Exchange, Ledger } from '../ledger.js'
import type { PrivateMariaDb } from '../mariadb.js'

export interface ScenarioContext {
  /** Scratch directory of this scenario: logs, nginx, SQLite files. */
  dir: string
  mariadb: PrivateMariaDb
  seed: number
  progress(message: string): void
}

export interface ScenarioReport {
  id: string
  title: string
  /** Operations the clients finished, and the HTTP requests they took. */
  operations: number
  requests: number
  errors: Map<string, number>
  violations: string[]
  /** What "recovery" means differs per fault; the cell says it in a few words. */
  recovery: string
  notes: string[]
}

export interface Scenario {
  id: string
  title: string
  run(context: ScenarioContext): Promise<ScenarioReport>
}

/** Concurrent clients at once; each sends one request at a time. */
export const CLIENTS = 48
export const PERSONS = 30
/** The sweep runs every second in these runs (SWEEP_INTERVAL_MS=1000), not every 5 s. */
export const SWEEP_INTERVAL_MS = 1000
/** Two sweep intervals and a margin: at least one whole sweep ran after the last request. */
const QUIET_MS = 2 * SWEEP_INTERVAL_MS + 500

/**
 * 4xx answers are the service refusing what the state forbids: never a failure here (which
 * statuses each operation may get is checked apart, in the ledger).
 */
export const isRefusal = (kind: string, _exchange?: Exchange) => /^4\d\d$/.test(kind)

/** Runs the load and, beside it, the fault; a failing fault stops the load early. */
export async function underLoad(load: ClientLoad, fault: () => Promise<void>): Promise<void> {
  const running = load.run()
  try {
    await fault()
  } catch (error) {
    load.stop()
    await running
    throw error
  }
  await running
}

export interface SettleOptions {
  cluster: Cluster
  databaseUrl: string
  loads: ClientLoad[]
  allowedKinds: AllowedKinds
  /** Exits the scenario caused on purpose, by instance name. */
  causedExits?: Record<string, number>
}

/**
 * Quiet for two sweep intervals, then every instance is stopped with SIGTERM (each must exit
 * 0), then the database and the logs are checked.
 */
export async function settleAndCheck(options: SettleOptions): Promise<string[]> {
  await sleep(QUIET_MS)
  const { cluster } = options
  const exitsBefore = cluster.instances.map((instance) => instance.exits.length)
  const violations: string[] = []
  await cluster.stop().catch((error: Error) => violations.push(`stopping: ${error.message}`))
  for (const instance of cluster.instances) {
    const last = instance.exits.at(-1)
    if (last && last.code !== 0) {
      violations.push(`${instance.name} exited ${last.code ?? last.signal} on SIGTERM`)
    }
  }

  violations.push(
    ...(await checkScenario({
      databaseUrl: options.databaseUrl,
      loads: options.loads.map((load) => ({ ledger: load.ledger, label: load.label })),
      allowedKinds: options.allowedKinds,
      services: cluster.instances.map((instance, i) => ({
        name: instance.name,
        logFile: instance.logFile,
        exits: exitsBefore[i] ?? 0,
        expectedExits: options.causedExits?.[instance.name] ?? 0,
      })),
    })),
  )

  return violations
}

export function report(
  scenario: { id: string; title: string },
  ledgers: Ledger[],
  violations: string[],
  recovery: string,
  notes: string[] = [],
): ScenarioReport {
  const errors = new Map<string, number>()
  for (const ledger of ledgers) {
    for (const [kind, count] of ledger.errorsByKind()) {
      errors.set(kind, (errors.get(kind) ?? 0) + count)
    }
  }

  return {
    ...scenario,
    operations: ledgers.reduce((sum, ledger) => sum + ledger.operations, 0),
    requests: ledgers.reduce((sum, ledger) => sum + ledger.exchanges.length, 0),
    errors,
    violations,
    recovery,
    notes,
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}
