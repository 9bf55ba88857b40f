// What must hold after every scenario, whatever fault it injected: the tables obey the rules,
// every task a client was told of exists once, no refusal hid a change, and no service
// answered, logged or exited in a way it never should.
import type { Kysely } from 'kysely'
import type { Database } from '../src/store/schema.js'
import { openForChecks } from './database.js'
import { allViolations, tasksDescribed, waitingWork } from './invariants.js'
import { type Exchange, kindOf, type Ledger } from './ledger.js'
import { scanServiceLog } from './service-log.js'

export type AllowedKinds = (kind: string, exchange: Exchange) => boolean

export interface CheckInput {
  databaseUrl: string
  /** What each group of clients sent, and the prefix of its descriptions. */
  loads: { ledger: Ledger; label: string }[]
  /** Error kinds this scenario's fault may cause; any other kind is a violation. */
  allowedKinds: AllowedKinds
  /** The logs of the service processes, and how many exits the scenario itself caused. */
  services: { name: string; logFile: string; exits: number; expectedExits: number }[]
}

/** Runs every check; each violation is one sentence. */
export async function checkScenario(input: CheckInput): Promise<string[]> {
  const db = openForChecks(input.databaseUrl)
  try {
    return [
      ...(await tableRules(db)),
      ...(await nothingWaitsBesideFree(db)),
      ...(await forEach(input.loads, (load) => createdTasks(db, load.ledger, load.label))),
      ...input.loads.flatMap((load) => answers(load.ledger, input.allowedKinds)),
      ...input.services.flatMap((service) => serviceHealth(service)),
    ]
  } finally {
    await db.destroy()
  }
}

/** The SQL rules of invariants.ts: one sentence per rule that some rows break. */
export async function tableRules(db: Kysely<Database>): Promise<string[]> {
  return Object.entries(await allViolations(db))
    .filter(([, rows]) => rows.length > 0)
    .map(([rule, rows]) => `${rule}: ${rows.length} rows, e.g. ${JSON.stringify(rows[0])}`)
}

/** Asked after a sweep interval of quiet: the sweep pairs whatever requests left unpaired. */
export async function nothingWaitsBesideFree(db: Kysely<Database>): Promise<string[]> {
  const { pending, free } = await waitingWork(db)
  if (pending === 0 || free === 0) return []

  return [`after a sweep interval of quiet ${pending} tasks wait while ${free} inspectors are free`]
}

/**
 * Each description was sent by one client, and sent again only while the service said
 * nothing changed, or under an Idempotency-Key. So a description told 201 exists exactly
 * once, with the id it was told; one refused every time does not exist; one whose fate the
 * client could not know exists at most once.
 */
export async function createdTasks(db: Kysely<Database>, ledger: Ledger, label: string) {
  const stored = new Map<string, number[]>()
  for (const { id, description } of await tasksDescribed(db, label)) {
    stored.set(description, [...(stored.get(description) ?? []), id])
  }
  const violations: string[] = []
  const told = [...ledger.creates.values()].flatMap((record) => [...new Set(record.ids)])
  if (new Set(told).size !== told.length) violations.push('one task id was answered 201 twice')

  for (const record of ledger.creates.values()) {
    const ids = stored.get(record.description) ?? []
    stored.delete(record.description)
    const quote = JSON.stringify(record.description)
    const answered = [...new Set(record.ids)]
    if (answered.length > 1) {
      violations.push(`${quote} was answered 201 with different ids [${answered}]`)
    } else if (answered.length === 1) {
      if (ids.length !== 1 || ids[0] !== answered[0]) {
        violations.push(`${quote} was answered 201 id ${answered} but is stored as [${ids}]`)
      }
    } else if (record.unknown === 0 && ids.length > 0) {
      violations.push(
        `${quote} was refused ${record.refused} times (each saying nothing changed) ` +
          `yet exists as task ${ids}; attempts: ${record.attempts.join(', ')}`,
      )
    } else if (ids.length > 1) {
      violations.push(`${quote} exists ${ids.length} times (${ids}); it was sent once`)
    }
  }
  for (const [description, ids] of stored) {
    violations.push(`task ${ids} (${JSON.stringify(description)}) was never sent by a client`)
  }

  return violations
}

/** Answers no fault explains, races both won, double logins refused. */
export function answers(ledger: Ledger, allowedKinds: AllowedKinds): string[] {
  const violations: string[] = []

  const unexpected = new Map<string, number>()
  for (const e of ledger.unexpectedAnswers()) {
    const key = `${e.method} ${e.path.replace(/\d+/g, ':id')} -> ${kindOf(e.outcome)}`
    unexpected.set(key, (unexpected.get(key) ?? 0) + 1)
  }
  for (const [key, count] of unexpected) violations.push(`unexpected answer ${key} (×${count})`)

  const refused = new Map<string, number>()
  for (const exchange of ledger.exchanges) {
    const kind = kindOf(exchange.outcome)
    if (kind === 'ok' || allowedKinds(kind, exchange)) continue
    const key = `${exchange.method} ${exchange.path.replace(/\d+/g, ':id')} -> ${kind}`
    refused.set(key, (refused.get(key) ?? 0) + 1)
  }
  for (const [key, count] of refused) violations.push(`${key} (×${count}) is not allowed here`)

  const bothWon = ledger.completedTwice.filter((race) => race.kinds.every((k) => k === '200'))
  if (bothWon.length > 0) {
    violations.push(`tasks ${bothWon.map((r) => r.taskId)} were answered 200 to two completions`)
  }
  const badLogins = ledger.loggedInTwice.filter((race) =>
    race.kinds.some((k) => /^\d+$/.test(k) && k !== '200' && k !== '503'),
  )
  if (badLogins.length > 0) {
    violations.push(`a double login was answered ${JSON.stringify(badLogins[0]?.kinds)}`)
  }

  return violations
}

async function forEach<T>(items: T[], check: (item: T) => Promise<string[]>) {
  const violations: string[] = []
  for (const item of items) violations.push(...(await check(item)))

  return violations
}

/** Exits nobody caused; log lines no healthy service writes. */
export function serviceHealth(service: CheckInput['services'][number]): string[] {
  const violations: string[] = []
  if (service.exits > service.expectedExits) {
    violations.push(
      `${service.name} exited ${service.exits - service.expectedExits} times unbidden`,
    )
  }
  const scan = scanServiceLog(service.logFile)
  for (const line of scan.alarming.slice(0, 3)) violations.push(`${service.name} logged: ${line}`)
  if (scan.alarming.length > 3) {
    violations.push(`${service.name} logged ${scan.alarming.length - 3} more such lines`)
  }

  return violations
}
