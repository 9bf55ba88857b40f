import { type Expression, type Kysely, type RawBuilder, sql } from 'kysely'
import { ASSIGNMENT_COLUMNS } from './assignments.js'
import type { StoreDialect } from './dialect.js'
import type { PersonState } from './persons.js'
import type { Database, DbTime, EndReason, StartReason } from './schema.js'

export interface WaitSummary {
  count: number
  meanMs: number | null
}

export interface InspectorRow {
  id: number
  name: string
  is_logged_in: number
  is_busy: number
  task_id: number | null
  assigned_at: DbTime | null
  /** The start of the task's description only, as many characters as asked for. */
  description: string | null
}

export interface HistoryRow {
  id: number
  task_id: number
  description: string
  person_id: number
  person_name: string
  assigned_at: DbTime
  completed_at: DbTime | null
  start_reason: StartReason
  end_reason: EndReason | null
  started_by: string | null
  ended_by: string | null
  task_created_at: DbTime
}

/**
 * The reads behind the supervisor's dashboard and the history export. Every query is a
 * range over an index (see migration 0004) or a page, so its cost follows the window asked
 * for, never the size of the history. Time ranges are half-open: [from, to).
 */
export class ReportQueries {
  constructor(private readonly dialect: StoreDialect) {}

  /** Tasks waiting and tasks being worked on: two ranges of qc_task_queue. */
  async countOpenTasks(db: Kysely<Database>): Promise<{ pending: number; inProgress: number }> {
    const rows = await db
      .selectFrom('qc_task')
      .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
      .where('status', 'in', ['PENDING', 'IN_PROGRESS'])
      .groupBy('status')
      .execute()
    const count = (status: string) => Number(rows.find((row) => row.status === status)?.count ?? 0)

    return { pending: count('PENDING'), inProgress: count('IN_PROGRESS') }
  }

  /** Tasks completed and tasks cancelled in the range, by the time they ended. */
  async countEnded(
    db: Kysely<Database>,
    from: DbTime,
    to: DbTime,
  ): Promise<{ done: number; cancelled: number }> {
    const rows = await db
      .selectFrom('qc_task')
      .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
      .where('status', 'in', ['DONE', 'CANCELLED'])
      .where('completed_at', '>=', from)
      .where('completed_at', '<', to)
      .groupBy('status')
      .execute()
    const count = (status: string) => Number(rows.find((row) => row.status === status)?.count ?? 0)

    return { done: count('DONE'), cancelled: count('CANCELLED') }
  }

  /** Assignments started in the range, and their mean wait since their task was created. */
  async waitSummary(db: Kysely<Database>, from: DbTime, to: DbTime): Promise<WaitSummary> {
    const row = await db
      .selectFrom(this.waits(db, from, to).as('w'))
      .select((eb) => [
        eb.fn.countAll<number>().as('count'),
        eb.fn.avg<number | string | null>('w.wait_ms').as('mean'),
      ])
      .executeTakeFirstOrThrow()

    return summary(row.count, row.mean)
  }

  /** The wait ranked `rank` (from 0, shortest first) among assignments started in the range. */
  async waitAtRank(
    db: Kysely<Database>,
    from: DbTime,
    to: DbTime,
    rank: number,
  ): Promise<number | null> {
    const row = await db
      .selectFrom(this.waits(db, from, to).as('w'))
      .select('w.wait_ms')
      .orderBy('w.wait_ms')
      .limit(1)
      .offset(rank)
      .executeTakeFirst()

    return row === undefined ? null : Number(row.wait_ms)
  }

  /**
   * Tasks completed per bucket: bucket i holds [bounds[i], bounds[i + 1]). The buckets are
   * told apart in SQL, so as many rows come back as there are buckets, whatever the volume.
   */
  async completedPerBucket(db: Kysely<Database>, bounds: DbTime[]): Promise<Map<number, number>> {
    const { first, last } = ends(bounds)
    const rows = await db
      .selectFrom(
        db
          .selectFrom('qc_task')
          .select(bucketOf(sql.ref('completed_at'), bounds).as('bucket'))
          .where('status', '=', 'DONE')
          .where('completed_at', '>=', first)
          .where('completed_at', '<', last)
          .as('done'),
      )
      .select(['done.bucket', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('done.bucket')
      .execute()

    return new Map(rows.map((row) => [Number(row.bucket), Number(row.count)]))
  }

  /** Assignments started per bucket (as completedPerBucket), with their mean wait. */
  async waitsPerBucket(db: Kysely<Database>, bounds: DbTime[]): Promise<Map<number, WaitSummary>> {
    const { first, last } = ends(bounds)
    const rows = await db
      .selectFrom(this.waits(db, first, last, bounds).as('w'))
      .select((eb) => [
        'w.bucket',
        eb.fn.countAll<number>().as('count'),
        eb.fn.avg<number | string | null>('w.wait_ms').as('mean'),
      ])
      .groupBy('w.bucket')
      .execute()

    return new Map(rows.map((row) => [Number(row.bucket), summary(row.count, row.mean)]))
  }

  /** Inspectors by id, each with the task they hold, if any. */
  inspectors(
    db: Kysely<Database>,
    page: { state?: PersonState; afterId?: number; limit: number; descriptionChars: number },
  ): Promise<InspectorRow[]> {
    let query = db
      .selectFrom('qc_person as p')
      .leftJoin('assignment as a', 'a.open_person_id', 'p.id')
      .leftJoin('qc_task as t', 't.id', 'a.task_id')
      .select((eb) => [
        'p.id',
        'p.name',
        'p.is_logged_in',
        'p.is_busy',
        'a.task_id',
        'a.assigned_at',
        eb
          .fn<string | null>('substr', [
            't.description',
            sql.lit(1),
            sql.lit(page.descriptionChars),
          ])
          .as('description'),
      ])
      .orderBy('p.id')
      .limit(page.limit)
    if (page.afterId !== undefined) query = query.where('p.id', '>', page.afterId)
    if (page.state === 'offline') query = query.where('p.is_logged_in', '=', 0)
    if (page.state === 'free') {
      query = query.where('p.is_logged_in', '=', 1).where('p.is_busy', '=', 0)
    }
    if (page.state === 'busy') {
      query = query.where('p.is_logged_in', '=', 1).where('p.is_busy', '=', 1)
    }

    return query.execute()
  }

  /** How many tasks each of these inspectors completed in the range. */
  async completedBy(
    db: Kysely<Database>,
    personIds: readonly number[],
    from: DbTime,
    to: DbTime,
  ): Promise<Map<number, number>> {
    if (personIds.length === 0) return new Map()
    const rows = await db
      .selectFrom('assignment')
      .select(['person_id', (eb) => eb.fn.countAll<number>().as('count')])
      .where('person_id', 'in', personIds)
      .where('completed_at', '>=', from)
      .where('completed_at', '<', to)
      .where('end_reason', '=', 'COMPLETED')
      .groupBy('person_id')
      .execute()

    return new Map(rows.map((row) => [row.person_id, Number(row.count)]))
  }

  /**
   * One page of the assignments started in the range, oldest first, after the (assigned_at,
   * id) key of the previous page's last row. The page is picked from assignment alone and
   * joined after: given the joins up front, MariaDB may walk the people instead and sort the
   * whole range for every page.
   */
  history(
    db: Kysely<Database>,
    page: { from: DbTime; to: DbTime; after?: [DbTime, number]; limit: number },
  ): Promise<HistoryRow[]> {
    let picked = db
      .selectFrom('assignment')
      .select(ASSIGNMENT_COLUMNS)
      .where('assigned_at', '>=', page.from)
      .where('assigned_at', '<', page.to)
      .orderBy('assigned_at')
      .orderBy('id')
      .limit(page.limit)
    const after = page.after
    if (after) {
      picked = picked
        .where('assigned_at', '>=', after[0])
        .where((eb) => eb.or([eb('assigned_at', '>', after[0]), eb('id', '>', after[1])]))
    }

    return db
      .selectFrom(picked.as('a'))
      .innerJoin('qc_task as t', 't.id', 'a.task_id')
      .innerJoin('qc_person as p', 'p.id', 'a.person_id')
      .select([
        'a.id',
        'a.task_id',
        't.description',
        'a.person_id',
        'p.name as person_name',
        'a.assigned_at',
        'a.completed_at',
        'a.start_reason',
        'a.end_reason',
        'a.started_by',
        'a.ended_by',
        't.created_at as task_created_at',
      ])
      .orderBy('a.assigned_at')
      .orderBy('a.id')
      .execute()
  }

  /** Each assignment started in the range with its wait, and its bucket when bounds are given. */
  private waits(db: Kysely<Database>, from: DbTime, to: DbTime, bounds?: DbTime[]) {
    return db
      .selectFrom('assignment as a')
      .innerJoin('qc_task as t', 't.id', 'a.task_id')
      .select([
        this.dialect
          .millisBetween(sql.ref<DbTime>('t.created_at'), sql.ref<DbTime>('a.assigned_at'))
          .as('wait_ms'),
        bucketOf(sql.ref('a.assigned_at'), bounds ?? [from, to]).as('bucket'),
      ])
      .where('a.assigned_at', '>=', from)
      .where('a.assigned_at', '<', to)
  }
}

function ends(bounds: DbTime[]): { first: DbTime; last: DbTime } {
  const first = bounds[0]
  const last = bounds.at(-1)
  if (first === undefined || last === undefined || bounds.length < 2) {
    throw new Error('buckets need at least two bounds')
  }

  return { first, last }
}

/**
 * Which bucket a time falls in, as a CASE over the bounds: plain comparisons of stored times,
 * which both stores agree on, where date functions would differ. Rows outside the bounds
 * are filtered out before.
 */
function bucketOf(time: Expression<unknown>, bounds: DbTime[]): RawBuilder<number> {
  const inner = bounds.slice(1, -1)
  if (inner.length === 0) return sql<number>`${sql.lit(0)}`
  const branches = inner.map((bound, index) => sql`when ${time} < ${bound} then ${sql.lit(index)}`)

  return sql<number>`case ${sql.join(branches, sql` `)} else ${sql.lit(inner.length)} end`
}

/** MySQL answers AVG as a DECIMAL string, SQLite as a double; both round to whole ms here. */
function summary(count: number | string, mean: number | string | null): WaitSummary {
  const n = Number(count)

  return { count: n, meanMs: n === 0 || mean === null ? null : Math.round(Number(mean)) }
}
