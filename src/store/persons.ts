import type { Kysely, Selectable, Transaction } from 'kysely'
import { expectOneRow } from './compare-and-set.js'
import type { StoreDialect } from './dialect.js'
import type { Database, DbTime, QcPersonTable } from './schema.js'

export type PersonRow = Selectable<QcPersonTable> & { current_task_id: number | null }
export type PersonState = 'offline' | 'free' | 'busy'

export class PersonQueries {
  constructor(private readonly dialect: StoreDialect) {}

  async insert(
    db: Kysely<Database>,
    person: { name: string; now: DbTime; badgeCode: string | null; pinHash: string | null },
  ): Promise<number> {
    const result = await db
      .insertInto('qc_person')
      .values({
        name: person.name,
        created_at: person.now,
        badge_code: person.badgeCode,
        pin_hash: person.pinHash,
      })
      .executeTakeFirstOrThrow()

    return Number(result.insertId)
  }

  /** Changes what is given; `undefined` leaves a field as it is. Returns false if unknown. */
  async update(
    db: Kysely<Database>,
    id: number,
    changes: { name?: string; badgeCode?: string | null; pinHash?: string | null },
  ): Promise<boolean> {
    const set = {
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.badgeCode !== undefined && { badge_code: changes.badgeCode }),
      ...(changes.pinHash !== undefined && { pin_hash: changes.pinHash }),
    }
    if (Object.keys(set).length === 0) return (await this.find(db, id)) !== undefined
    const result = await db
      .updateTable('qc_person')
      .set(set)
      .where('id', '=', id)
      .executeTakeFirst()

    return result.numUpdatedRows === 1n
  }

  /** What a sign-in checks: the person's id and PIN hash, by id or by badge. */
  findCredentials(db: Kysely<Database>, who: { personId: number } | { badgeCode: string }) {
    const query = db.selectFrom('qc_person').select(['id', 'pin_hash'])

    return (
      'personId' in who
        ? query.where('id', '=', who.personId)
        : query.where('badge_code', '=', who.badgeCode)
    ).executeTakeFirst()
  }

  find(db: Kysely<Database>, id: number): Promise<PersonRow | undefined> {
    return this.withCurrentTask(db).where('p.id', '=', id).executeTakeFirst()
  }

  /** People by id, optionally in one state. */
  list(
    db: Kysely<Database>,
    page: { state?: PersonState; afterId?: number; limit: number },
  ): Promise<PersonRow[]> {
    let query = this.withCurrentTask(db).orderBy('p.id').limit(page.limit)
    if (page.afterId !== undefined) query = query.where('p.id', '>', page.afterId)
    if (page.state === 'offline') query = query.where('p.is_logged_in', '=', 0)
    if (page.state === 'free')
      query = query.where('p.is_logged_in', '=', 1).where('p.is_busy', '=', 0)
    if (page.state === 'busy')
      query = query.where('p.is_logged_in', '=', 1).where('p.is_busy', '=', 1)

    return query.execute()
  }

  /** Free, logged-in people in the order they will be served. */
  listAvailable(
    db: Kysely<Database>,
    page: { after?: [DbTime, number]; limit: number },
  ): Promise<PersonRow[]> {
    let query = this.withCurrentTask(db)
      .where('p.is_logged_in', '=', 1)
      .where('p.is_busy', '=', 0)
      .orderBy('p.available_since')
      .orderBy('p.id')
      .limit(page.limit)
    const after = page.after
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb('p.available_since', '>', after[0]),
          eb.and([eb('p.available_since', '=', after[0]), eb('p.id', '>', after[1])]),
        ]),
      )
    }

    return query.execute()
  }

  lock(tx: Transaction<Database>, id: number) {
    return this.dialect
      .lockForUpdate(tx.selectFrom('qc_person').selectAll().where('id', '=', id))
      .executeTakeFirst()
  }

  /** The free person who has waited longest, locked; rows other claimers hold are passed over. */
  claimLongestFree(tx: Transaction<Database>) {
    return this.dialect
      .claimSkippingLocked(
        tx
          .selectFrom('qc_person')
          .select(['id', 'available_since'])
          .where('is_logged_in', '=', 1)
          .where('is_busy', '=', 0)
          .orderBy('available_since')
          .orderBy('id')
          .limit(1),
      )
      .executeTakeFirst()
  }

  async markLoggedIn(tx: Transaction<Database>, id: number, now: DbTime): Promise<void> {
    const result = await tx
      .updateTable('qc_person')
      .set({ is_logged_in: 1, is_busy: 0, available_since: now, last_heartbeat: now })
      .where('id', '=', id)
      .where('is_logged_in', '=', 0)
      .executeTakeFirst()
    expectOneRow(result, `log in person ${id}`)
  }

  async markLoggedOut(tx: Transaction<Database>, id: number): Promise<void> {
    const result = await tx
      .updateTable('qc_person')
      .set({ is_logged_in: 0, is_busy: 0, available_since: null })
      .where('id', '=', id)
      .where('is_logged_in', '=', 1)
      .executeTakeFirst()
    expectOneRow(result, `log out person ${id}`)
  }

  async markBusy(tx: Transaction<Database>, id: number): Promise<void> {
    const result = await tx
      .updateTable('qc_person')
      .set({ is_busy: 1, available_since: null })
      .where('id', '=', id)
      .where('is_logged_in', '=', 1)
      .where('is_busy', '=', 0)
      .executeTakeFirst()
    expectOneRow(result, `occupy person ${id}`)
  }

  async markFree(tx: Transaction<Database>, id: number, now: DbTime): Promise<void> {
    const result = await tx
      .updateTable('qc_person')
      // Completing is a sign of life, as good as a heartbeat.
      .set({ is_busy: 0, available_since: now, last_heartbeat: now })
      .where('id', '=', id)
      .where('is_logged_in', '=', 1)
      .where('is_busy', '=', 1)
      .executeTakeFirst()
    expectOneRow(result, `free person ${id}`)
  }

  /** Returns false when the person is unknown or logged out. */
  async refreshHeartbeat(db: Kysely<Database>, id: number, now: DbTime): Promise<boolean> {
    const result = await db
      .updateTable('qc_person')
      .set({ last_heartbeat: now })
      .where('id', '=', id)
      .where('is_logged_in', '=', 1)
      .executeTakeFirst()

    return result.numUpdatedRows === 1n
  }

  /** Logged-in people whose last heartbeat is older than the cutoff. */
  async findSilentSince(db: Kysely<Database>, cutoff: DbTime, limit: number): Promise<number[]> {
    const rows = await db
      .selectFrom('qc_person')
      .select('id')
      .where('is_logged_in', '=', 1)
      .where('last_heartbeat', '<', cutoff)
      .orderBy('last_heartbeat')
      .limit(limit)
      .execute()

    return rows.map((row) => row.id)
  }

  async countByState(db: Kysely<Database>): Promise<Record<PersonState, number>> {
    const rows = await db
      .selectFrom('qc_person')
      .select(['is_logged_in', 'is_busy', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy(['is_logged_in', 'is_busy'])
      .execute()
    const counts: Record<PersonState, number> = { offline: 0, free: 0, busy: 0 }
    for (const row of rows) {
      const state = !row.is_logged_in ? 'offline' : row.is_busy ? 'busy' : 'free'
      counts[state] += Number(row.count)
    }

    return counts
  }

  private withCurrentTask(db: Kysely<Database>) {
    return db
      .selectFrom('qc_person as p')
      .leftJoin('assignment as a', 'a.open_person_id', 'p.id')
      .selectAll('p')
      .select('a.task_id as current_task_id')
  }
}
