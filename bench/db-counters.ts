// MariaDB's own counters, read before and after a run on the private server, where nothing
// but this benchmark runs: the statements an operation really costs, and the rows its
// statements read. Unlike a latency, these do not move with the machine's other load.
import type { BenchDb } from './database.js'

const NAMES = [
  'Questions',
  'Com_select',
  'Com_update',
  'Com_insert',
  'Com_begin',
  'Com_commit',
  'Com_rollback',
  // Index lookups, next entries in index order, and rows of full scans.
  'Handler_read_key',
  'Handler_read_next',
  'Handler_read_rnd_next',
  'Sort_rows',
  'Created_tmp_tables',
] as const

export type Counters = Record<(typeof NAMES)[number], number>

/**
 * What one reading adds to the counters itself (SHOW STATUS is a statement, and it fills
 * and scans a temporary table): measured once, from two readings back to back.
 */
let overhead: Promise<Counters | null> | null = null

/** The counters now; the first call also measures what a reading costs (`overhead`). */
export async function readCounters(db: BenchDb): Promise<Counters | null> {
  if (db.kind !== 'mysql') return null
  overhead ??= (async () => {
    const first = await rawCounters(db)

    return subtractCounters(await rawCounters(db), first)
  })()
  await overhead

  return rawCounters(db)
}

async function rawCounters(db: BenchDb): Promise<Counters> {
  const rows = await db.query<{ Variable_name: string; Value: string }>(
    `show global status where Variable_name in (${NAMES.map(() => '?').join(', ')})`,
    [...NAMES],
  )
  const counters = Object.fromEntries(NAMES.map((name) => [name, 0])) as Counters
  for (const row of rows) {
    const name = NAMES.find((n) => n.toLowerCase() === row.Variable_name.toLowerCase())
    if (name) counters[name] = Number(row.Value)
  }

  return counters
}

/** The counters an operation moved between two readings, less a reading's own. */
export async function countersSince(db: BenchDb, before: Counters | null) {
  const delta = subtractCounters(await readCounters(db), before)
  const cost = await overhead

  return cost ? subtractCounters(delta, cost) : delta
}

export function addCounters(a: Counters | null, b: Counters | null): Counters | null {
  if (!a || !b) return a ?? b
  const sum = { ...a }
  for (const name of NAMES) sum[name] += b[name]

  return sum
}

export function subtractCounters(after: Counters | null, before: Counters | null) {
  if (!after || !before) return null
  const delta = { ...after }
  for (const name of NAMES) delta[name] -= before[name]

  return delta
}

export interface PerOperation {
  statements: number
  /** "16.0 statements (select 8.0, ...)". */
  describe(): string
  /** "13.0 index lookups, 0.0 next-in-order reads, 0.0 scanned rows, 0.0 sorted rows". */
  describeReads(): string
}

/** Per operation, between two readings (or from a delta when `before` is null). */
export function perOperation(
  before: Counters | null,
  after: Counters | null,
  ops: number,
): PerOperation | null {
  const delta = before ? subtractCounters(after, before) : after
  if (!delta || ops === 0) return null
  const per = (name: keyof Counters) => (delta[name] / ops).toFixed(1)

  return {
    statements: delta.Questions / ops,
    describe: () =>
      `${per('Questions')} statements (select ${per('Com_select')}, ` +
      `update ${per('Com_update')}, insert ${per('Com_insert')}, begin ${per('Com_begin')}, ` +
      `commit ${per('Com_commit')}, rollback ${per('Com_rollback')})`,
    describeReads: () =>
      `${per('Handler_read_key')} index lookups, ${per('Handler_read_next')} next-in-order ` +
      `reads, ${per('Handler_read_rnd_next')} scanned rows, ${per('Sort_rows')} sorted rows, ` +
      `${per('Created_tmp_tables')} temporary tables`,
  }
}
