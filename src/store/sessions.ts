import type { Kysely } from 'kysely'
import type { Database, DbTime } from './schema.js'

export class SessionQueries {
  async insert(
    db: Kysely<Database>,
    session: { tokenHash: string; personId: number; now: DbTime; expiresAt: DbTime },
  ): Promise<number> {
    const result = await db
      .insertInto('inspector_session')
      .values({
        token_hash: session.tokenHash,
        person_id: session.personId,
        created_at: session.now,
        expires_at: session.expiresAt,
      })
      .executeTakeFirstOrThrow()

    return Number(result.insertId)
  }

  /** The session with this token hash, if neither revoked nor expired at `now`. */
  findLive(db: Kysely<Database>, tokenHash: string, now: DbTime) {
    return db
      .selectFrom('inspector_session')
      .select(['id', 'person_id', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst()
  }

  /** Ends every open session of the person: logging out signs them out everywhere. */
  async revokeAllOf(db: Kysely<Database>, personId: number, now: DbTime): Promise<void> {
    await db
      .updateTable('inspector_session')
      .set({ revoked_at: now })
      .where('person_id', '=', personId)
      .where('revoked_at', 'is', null)
      .execute()
  }

  /** Sessions that can no longer be used: expired, or ended by a logout. */
  async forgetEnded(db: Kysely<Database>, now: DbTime): Promise<number> {
    const result = await db
      .deleteFrom('inspector_session')
      .where((eb) => eb.or([eb('expires_at', '<', now), eb('revoked_at', 'is not', null)]))
      .executeTakeFirst()

    return Number(result.numDeletedRows)
  }
}
