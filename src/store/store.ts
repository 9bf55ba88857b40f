import { Kysely, sql, type Transaction } from 'kysely'
import { ApiKeyQueries } from './api-keys.js'
import { AssignmentQueries } from './assignments.js'
import { type ConnectOptions, dialectFor } from './connect.js'
import type { StoreDialect } from './dialect.js'
import { EventQueries } from './events.js'
import { IdempotencyKeyQueries } from './idempotency-keys.js'
import { isMigrated, type MigrationReport, migrateToLatest } from './migrate.js'
import { PersonQueries } from './persons.js'
import { ReportQueries } from './reports.js'
import { retrying } from './retry.js'
import type { Database } from './schema.js'
import { SessionQueries } from './sessions.js'
import { SignInThrottleQueries } from './sign-in-throttle.js'
import { TaskQueries } from './tasks.js'

export interface StoreHooks {
  /** Called before a failed transaction is run again, with the reason's stable code. */
  onRetry?(reason: string, attemptNumber: number): void
}

/** The database went away while a transaction was committing: it may or may not stand. */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError'

  constructor(cause: unknown) {
    super('the connection broke during COMMIT; the change may or may not have been applied', {
      cause,
    })
  }
}

/** The database behind the service: its queries, its transactions and its schema. */
export class Store {
  readonly db: Kysely<Database>
  readonly tasks: TaskQueries
  readonly persons: PersonQueries
  readonly assignments = new AssignmentQueries()
  readonly idempotencyKeys: IdempotencyKeyQueries
  readonly apiKeys = new ApiKeyQueries()
  readonly sessions = new SessionQueries()
  readonly signInThrottle: SignInThrottleQueries
  readonly events = new EventQueries()
  readonly reports: ReportQueries

  private constructor(
    readonly dialect: StoreDialect,
    private readonly hooks: StoreHooks,
  ) {
    this.db = new Kysely<Database>({ dialect: dialect.createKyselyDialect() })
    this.tasks = new TaskQueries(dialect)
    this.persons = new PersonQueries(dialect)
    this.idempotencyKeys = new IdempotencyKeyQueries(dialect)
    this.signInThrottle = new SignInThrottleQueries(dialect)
    this.reports = new ReportQueries(dialect)
  }

  static open(options: ConnectOptions, hooks: StoreHooks = {}): Store {
    return new Store(dialectFor(options), hooks)
  }

  /**
   * Runs `work` in one transaction, and again from the start when the database reports a
   * deadlock, a lock wait timeout, a busy file or a lost compare-and-set. `work` must
   * therefore only touch the database: its side effects belong after the commit.
   */
  transaction<T>(work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
    return retrying(
      () => this.attempt(work),
      (error) => this.dialect.retryReason(error),
      (reason, attemptNumber) => this.hooks.onRetry?.(reason, attemptNumber),
    )
  }

  /**
   * One attempt. When the connection breaks after `work` has finished, the COMMIT may or may
   * not have reached the database: that is said plainly (OutcomeUnknownError), never retried
   * and never reported as a change that did not happen.
   */
  private async attempt<T>(work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
    let committing = false
    try {
      return await this.db.transaction().execute(async (tx) => {
        const result = await work(tx)
        committing = true

        return result
      })
    } catch (error) {
      if (committing && this.dialect.isUnavailable(error)) throw new OutcomeUnknownError(error)
      throw error
    }
  }

  /**
   * What a failure says about the database: unreachable, or too busy right now (a transient
   * failure that outlived its retries). Either way the transaction changed nothing.
   */
  classifyFailure(error: unknown): 'outcome_unknown' | 'unavailable' | 'busy' | null {
    if (error instanceof OutcomeUnknownError) return 'outcome_unknown'
    if (this.dialect.isUnavailable(error)) return 'unavailable'
    if (this.dialect.retryReason(error) !== null) return 'busy'

    return null
  }

  migrate(): Promise<MigrationReport> {
    return migrateToLatest(this.db as Kysely<unknown>, this.dialect)
  }

  /** Reachable and fully migrated. */
  async isReady(): Promise<boolean> {
    await sql`select 1`.execute(this.db)

    return isMigrated(this.db as Kysely<unknown>, this.dialect)
  }

  /**
   * A plain read, without locks: is a task pending while someone is free? Asked after a
   * commit that left work or a person unmatched (see domain/matching.ts for why).
   */
  async hasWaitingWork(): Promise<boolean> {
    const row = await this.db
      .selectNoFrom((eb) => [
        eb
          .exists(eb.selectFrom('qc_task').select('id').where('status', '=', 'PENDING').limit(1))
          .as('task_waiting'),
        eb
          .exists(
            eb
              .selectFrom('qc_person')
              .select('id')
              .where('is_logged_in', '=', 1)
              .where('is_busy', '=', 0)
              .limit(1),
          )
          .as('person_free'),
      ])
      .executeTakeFirstOrThrow()

    return Boolean(Number(row.task_waiting)) && Boolean(Number(row.person_free))
  }

  async close(): Promise<void> {
    await this.db.destroy()
  }
}
