import type { Kysely, Selectable } from 'kysely'
import type { ApiKeyTable, Database, DbTime, KeyRole } from './schema.js'

export type ApiKeyRow = Omit<Selectable<ApiKeyTable>, 'secret_hash'>

const COLUMNS = ['id', 'name', 'role', 'created_at', 'created_by', 'revoked_at'] as const

export class ApiKeyQueries {
  async insert(
    db: Kysely<Database>,
    key: { name: string; role: KeyRole; secretHash: string; now: DbTime; createdBy: string },
  ): Promise<number> {
    const result = await db
      .insertInto('api_key')
      .values({
        name: key.name,
        role: key.role,
        secret_hash: key.secretHash,
        created_at: key.now,
        created_by: key.createdBy,
      })
      .executeTakeFirstOrThrow()

    return Number(result.insertId)
  }

  find(db: Kysely<Database>, id: number): Promise<ApiKeyRow | undefined> {
    return db.selectFrom('api_key').select(COLUMNS).where('id', '=', id).executeTakeFirst()
  }

  findByName(db: Kysely<Database>, name: string): Promise<ApiKeyRow | undefined> {
    return db.selectFrom('api_key').select(COLUMNS).where('name', '=', name).executeTakeFirst()
  }

  /** The live key with this hash; revoked keys are not found. */
  findLive(db: Kysely<Database>, secretHash: string): Promise<ApiKeyRow | undefined> {
    return db
      .selectFrom('api_key')
      .select(COLUMNS)
      .where('secret_hash', '=', secretHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
  }

  list(db: Kysely<Database>): Promise<ApiKeyRow[]> {
    return db.selectFrom('api_key').select(COLUMNS).orderBy('id').execute()
  }

  /** Returns false when the key was already revoked (or never existed). */
  async revoke(db: Kysely<Database>, id: number, now: DbTime): Promise<boolean> {
    const result = await db
      .updateTable('api_key')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()

    return result.numUpdatedRows === 1n
  }
}
