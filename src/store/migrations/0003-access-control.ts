import { type Kysely, type Migration, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'

/**
 * Who may call, and who did what: API keys, inspector PINs and sessions, the sign-in
 * throttle, an actor on every task and assignment change, the event log they are written
 * to, and a CANCELLED status for tasks a supervisor withdraws.
 */
export function accessControl(dialect: StoreDialect): Migration {
  const { timestamp, exactKey } = dialect.columnTypes
  const actor = 'varchar(120)'

  return {
    async up(db: Kysely<unknown>) {
      const create = (name: string) => {
        const table = db.schema.createTable(name)
        return dialect.tableOptions ? table.modifyEnd(dialect.tableOptions) : table
      }

      await create('api_key')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('name', 'varchar(100)', (c) => c.notNull().unique())
        .addColumn('role', 'varchar(20)', (c) => c.notNull())
        // SHA-256 of the key: a key has 256 random bits, so a fast hash is enough.
        .addColumn('secret_hash', 'char(64)', (c) => c.notNull().unique())
        .addColumn('created_at', timestamp, (c) => c.notNull())
        .addColumn('created_by', actor, (c) => c.notNull())
        .addColumn('revoked_at', timestamp)
        .execute()

      await db.schema.alterTable('qc_person').addColumn('pin_hash', 'varchar(200)').execute()
      await db.schema.alterTable('qc_person').addColumn('badge_code', exactKey).execute()
      await db.schema
        .createIndex('qc_person_badge')
        .on('qc_person')
        .column('badge_code')
        .unique()
        .execute()

      await create('inspector_session')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('token_hash', 'char(64)', (c) => c.notNull().unique())
        .addColumn('person_id', 'integer', (c) => c.notNull().references('qc_person.id'))
        .addColumn('created_at', timestamp, (c) => c.notNull())
        .addColumn('expires_at', timestamp, (c) => c.notNull())
        .addColumn('revoked_at', timestamp)
        .execute()
      await db.schema
        .createIndex('inspector_session_person')
        .on('inspector_session')
        .columns(['person_id', 'revoked_at'])
        .execute()

      await create('sign_in_throttle')
        .addColumn('subject', 'varchar(200)', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('first_failed_at', timestamp, (c) => c.notNull())
        .addColumn('blocked_until', timestamp)
        .execute()

      await create('qc_event')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('occurred_at', timestamp, (c) => c.notNull())
        .addColumn('type', 'varchar(40)', (c) => c.notNull())
        .addColumn('actor', actor, (c) => c.notNull())
        .addColumn('task_id', 'integer')
        .addColumn('person_id', 'integer')
        .addColumn('detail', 'varchar(200)')
        .execute()
      await db.schema
        .createIndex('qc_event_by_task')
        .on('qc_event')
        .columns(['task_id', 'id'])
        .execute()
      await db.schema
        .createIndex('qc_event_by_person')
        .on('qc_event')
        .columns(['person_id', 'id'])
        .execute()

      await db.schema.alterTable('assignment').addColumn('started_by', actor).execute()
      await db.schema.alterTable('assignment').addColumn('ended_by', actor).execute()

      if (dialect.name === 'mysql') {
        await sql`alter table qc_task
          modify status enum('PENDING', 'IN_PROGRESS', 'DONE', 'CANCELLED')
            not null default 'PENDING',
          drop constraint qc_task_status_known,
          add constraint qc_task_status_known
            check (status in ('PENDING', 'IN_PROGRESS', 'DONE', 'CANCELLED')),
          add column created_by varchar(120)`.execute(db)
      } else {
        await rebuildSqliteTaskTable(db)
      }
    },
  }
}

/**
 * SQLite cannot change a CHECK constraint in place, so qc_task is rebuilt. Foreign keys stay
 * on (the pragma that turns them off is ignored inside the migration's transaction), so they
 * are deferred instead: dropping the old table orphans the children for a moment, and
 * putting the rows back under the old name adopts them again before the commit checks.
 */
async function rebuildSqliteTaskTable(db: Kysely<unknown>): Promise<void> {
  await sql`pragma defer_foreign_keys = on`.execute(db)
  await sql`create table qc_task_next (
    id integer primary key autoincrement,
    description text not null,
    status text not null default 'PENDING',
    created_at text not null,
    assigned_person_id integer references qc_person (id),
    assigned_at text,
    completed_at text,
    created_by varchar(120),
    constraint qc_task_status_known
      check (status in ('PENDING', 'IN_PROGRESS', 'DONE', 'CANCELLED'))
  )`.execute(db)
  await sql`create temp table qc_task_rows as select * from qc_task`.execute(db)
  // Dropping the table forgets the highest id it ever gave; keep it, so no id comes back.
  await sql`create temp table qc_task_sequence as
    select seq from sqlite_sequence where name = 'qc_task'`.execute(db)
  await sql`drop table qc_task`.execute(db)
  await sql`alter table qc_task_next rename to qc_task`.execute(db)
  await sql`insert into sqlite_sequence (name, seq)
    select 'qc_task', seq from qc_task_sequence`.execute(db)
  await sql`drop table qc_task_sequence`.execute(db)
  await sql`insert into qc_task
    (id, description, status, created_at, assigned_person_id, assigned_at, completed_at)
    select id, description, status, created_at, assigned_person_id, assigned_at, completed_at
    from qc_task_rows`.execute(db)
  await sql`drop table qc_task_rows`.execute(db)
  await sql`create index qc_task_queue on qc_task (status, created_at, id)`.execute(db)
  await sql`create index qc_task_assignee on qc_task (assigned_person_id, status)`.execute(db)
}
