import { type CreateTableBuilder, type Kysely, type Migration, sql } from 'kysely'
import type { StoreDialect } from '../dialect.js'

/**
 * The original three tables, with what a real system needs on top: millisecond UTC times,
 * the reasons behind each assignment, the fairness clock of free people, the indexes the
 * claims use, and the unique guards that make a second open assignment impossible.
 */
export function initialSchema(dialect: StoreDialect): Migration {
  const { timestamp, taskStatus } = dialect.columnTypes
  // biome-ignore lint/suspicious/noExplicitAny: the builder's table type is irrelevant here
  const withOptions = <T extends CreateTableBuilder<any, any>>(builder: T): T =>
    dialect.tableOptions ? (builder.modifyEnd(dialect.tableOptions) as T) : builder

  return {
    async up(db: Kysely<unknown>) {
      await withOptions(
        db.schema
          .createTable('qc_person')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('name', 'varchar(100)', (c) => c.notNull())
          .addColumn('is_logged_in', 'boolean', (c) => c.notNull().defaultTo(false))
          .addColumn('is_busy', 'boolean', (c) => c.notNull().defaultTo(false))
          .addColumn('last_heartbeat', timestamp)
          .addColumn('available_since', timestamp)
          .addColumn('created_at', timestamp, (c) => c.notNull()),
      ).execute()

      // Next to serve: the logged-in, free person with the oldest available_since.
      await db.schema
        .createIndex('qc_person_free_queue')
        .on('qc_person')
        .columns(['is_logged_in', 'is_busy', 'available_since', 'id'])
        .execute()
      await db.schema
        .createIndex('qc_person_heartbeat')
        .on('qc_person')
        .columns(['is_logged_in', 'last_heartbeat'])
        .execute()

      await withOptions(
        db.schema
          .createTable('qc_task')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('status', taskStatus, (c) => c.notNull().defaultTo('PENDING'))
          .addColumn('created_at', timestamp, (c) => c.notNull())
          .addColumn('assigned_person_id', 'integer', (c) => c.references('qc_person.id'))
          .addColumn('assigned_at', timestamp)
          .addColumn('completed_at', timestamp)
          .addCheckConstraint(
            'qc_task_status_known',
            sql`status in ('PENDING', 'IN_PROGRESS', 'DONE')`,
          ),
      ).execute()

      // The queue: oldest pending first, found without a scan or a sort.
      await db.schema
        .createIndex('qc_task_queue')
        .on('qc_task')
        .columns(['status', 'created_at', 'id'])
        .execute()
      await db.schema
        .createIndex('qc_task_assignee')
        .on('qc_task')
        .columns(['assigned_person_id', 'status'])
        .execute()

      await withOptions(
        db.schema
          .createTable('assignment')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('task_id', 'integer', (c) => c.notNull().references('qc_task.id'))
          .addColumn('person_id', 'integer', (c) => c.notNull().references('qc_person.id'))
          .addColumn('assigned_at', timestamp, (c) => c.notNull())
          .addColumn('completed_at', timestamp)
          .addColumn('start_reason', 'varchar(20)', (c) => c.notNull())
          .addColumn('end_reason', 'varchar(20)')
          .addColumn('open_task_id', 'integer', (c) =>
            c.generatedAlwaysAs(sql`case when completed_at is null then task_id end`).stored(),
          )
          .addColumn('open_person_id', 'integer', (c) =>
            c.generatedAlwaysAs(sql`case when completed_at is null then person_id end`).stored(),
          ),
      ).execute()

      // The last line of defence: the database itself refuses a second open assignment.
      await db.schema
        .createIndex('assignment_one_open_per_task')
        .on('assignment')
        .column('open_task_id')
        .unique()
        .execute()
      await db.schema
        .createIndex('assignment_one_open_per_person')
        .on('assignment')
        .column('open_person_id')
        .unique()
        .execute()
      await db.schema
        .createIndex('assignment_by_task')
        .on('assignment')
        .columns(['task_id', 'id'])
        .execute()
      await db.schema
        .createIndex('assignment_by_person')
        .on('assignment')
        .columns(['person_id', 'id'])
        .execute()
    },
  }
}
