import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import { LostRaceError } from '../store/dialect.js'
import type { Database, EndReason } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { fromDbTime, toDbTime } from '../store/time.js'
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js'
import type { DomainEvent, DomainEventListener } from './events.js'
import { type Assigned, assignWaitingWork, followUp } from './matching.js'
import { type Person, personFromRow, type Task, taskFromRow } from './model.js'
import { holderOrRefuse, keyReused, personNotFound, refuseBrokenText } from './refusals.js'

export interface LoginResult {
  person: Person
  /** The task the person holds after logging in, new or already theirs; null if none. */
  task: Task | null
}

export interface LogoutResult {
  person: Person
  /** The task the person held, back in the queue (or already with someone else). */
  released_task: Task | null
}

export interface CompletionResult {
  completed: Task
  /** The task the same person was given in the same transaction, or null. */
  next_task: Task | null
  /** True when this inspector had already completed the task: a retry, answered again. */
  already_completed: boolean
}

export interface CreatedTask {
  task: Task
  /** True when an idempotency key matched an earlier request: nothing new was created. */
  replayed: boolean
}

/**
 * The rules of the service, each change of state in one transaction: who may hold what,
 * and that a task goes to a free person the moment both exist. No HTTP in here.
 */
export interface AssignmentServiceOptions {
  /** Told of every event after the commit that made it. */
  publish: DomainEventListener
  clock?: () => Date
  /** Told of failures that cannot change a request's answer (after its commit). */
  reportError?: (error: unknown, context: string) => void
}

export class AssignmentService {
  private readonly publish: DomainEventListener
  private readonly clock: () => Date
  private readonly reportError: (error: unknown, context: string) => void

  constructor(
    private readonly store: Store,
    options: AssignmentServiceOptions,
  ) {
    this.publish = options.publish
    this.clock = options.clock ?? (() => new Date())
    this.reportError = options.reportError ?? (() => {})
  }

  async createPerson(name: string): Promise<Person> {
    refuseBrokenText('name', name)
    const trimmed = name.trim()
    // Counted in characters (code points), as MySQL's VARCHAR(100) counts them.
    const characters = [...trimmed].length
    if (characters === 0 || characters > 100) {
      throw new InvalidInputError(
        'BAD_NAME',
        'name must have 1 to 100 characters besides surrounding spaces.',
      )
    }
    const id = await this.store.persons.insert(this.store.db, trimmed, toDbTime(this.clock()))

    return this.person(this.store.db, id)
  }

  /**
   * Creates a task and assigns it at once if someone is free. With an idempotency key, a
   * retry of the same request returns the task the first one created (`replayed`), and the
   * same key with another description is refused.
   */
  async createTask(description: string, idempotencyKey?: string): Promise<CreatedTask> {
    refuseBrokenText('description', description)
    if (description.trim().length === 0) {
      throw new InvalidInputError('BLANK_DESCRIPTION', 'description must not be blank.')
    }
    const digest = createHash('sha256').update(description).digest('hex')
    const outcome = await this.store.transaction(async (tx) => {
      const now = this.clock()
      if (idempotencyKey !== undefined) {
        const earlier = await this.store.idempotencyKeys.find(tx, idempotencyKey)
        if (earlier) {
          if (earlier.request_digest !== digest) throw keyReused(idempotencyKey)
          const task = await this.task(tx, earlier.task_id)

          return { task, replayed: true, events: [] as DomainEvent[] }
        }
      }
      const id = await this.store.tasks.insert(tx, description, toDbTime(now))
      if (idempotencyKey !== undefined) {
        const entry = { key: idempotencyKey, digest, taskId: id, now: toDbTime(now) }
        await this.store.idempotencyKeys.remember(tx, entry)
      }
      const { assigned, started } = await assignWaitingWork(this.store, tx, now, 'TASK_CREATED')
      const events: DomainEvent[] = [{ type: 'task_created', taskId: id }, ...assigned]
      const row = started.get(id)
      const task = row ? taskFromRow(row) : await this.task(tx, id)

      return { task, replayed: false, events }
    })
    this.publishAll(outcome.events)

    const { task, replayed } = outcome
    if (task.status !== 'PENDING' || replayed) return { task, replayed }

    return this.afterCommit({ task, replayed }, async () => {
      const late = await this.followUp('TASK_CREATED')
      const assignedLate = late.some((a) => a.taskId === task.id)

      return { task: assignedLate ? await this.task(this.store.db, task.id) : task, replayed }
    })
  }

  /** Forgets idempotency keys older than `ttlS` seconds; returns how many. */
  async forgetIdempotencyKeys(ttlS: number, batchSize = 500): Promise<number> {
    const cutoff = toDbTime(new Date(this.clock().getTime() - ttlS * 1000))

    return this.store.idempotencyKeys.forgetOlderThan(this.store.db, cutoff, batchSize)
  }

  /** Logs the person in and gives them the oldest pending task. Logging in twice is harmless. */
  async login(personId: number): Promise<LoginResult> {
    const outcome = await this.store.transaction(async (tx) => {
      const now = this.clock()
      const person = await this.lockPerson(tx, personId)
      const events: DomainEvent[] = []
      if (person.is_logged_in) {
        await this.store.persons.refreshHeartbeat(tx, personId, toDbTime(now))
      } else {
        await this.store.persons.markLoggedIn(tx, personId, toDbTime(now))
        events.push({ type: 'person_logged_in', personId })
        events.push(...(await assignWaitingWork(this.store, tx, now, 'LOGIN')).assigned)
      }

      return { result: await this.presence(tx, personId), events }
    })
    this.publishAll(outcome.events)

    if (outcome.result.person.state !== 'free') return outcome.result

    return this.afterCommit(outcome.result, async () => {
      const late = await this.followUp('LOGIN')

      return late.some((a) => a.personId === personId)
        ? this.presence(this.store.db, personId)
        : outcome.result
    })
  }

  /** Logs the person out; their task goes back to the queue at its original place. */
  async logout(personId: number): Promise<LogoutResult> {
    const outcome = await this.store.transaction(async (tx) => {
      const now = this.clock()
      const person = await this.lockPerson(tx, personId)
      if (!person.is_logged_in) {
        return { person: await this.person(tx, personId), released: null, events: [] }
      }
      const { releasedId, events } = await this.signOff(tx, personId, now, 'LOGOUT')
      const released = releasedId === null ? null : await this.task(tx, releasedId)

      return { person: await this.person(tx, personId), released, events }
    })
    this.publishAll(outcome.events)

    const { person, released } = outcome
    const result = { person, released_task: released }
    if (released?.status !== 'PENDING') return result

    return this.afterCommit(result, async () => {
      await this.followUp('RELEASE')

      return { person, released_task: await this.task(this.store.db, released.id) }
    })
  }

  async heartbeat(personId: number): Promise<Person> {
    // In a transaction for its retries: the row is also locked by assignments, and a
    // deadlock between them is the database's call to make, not the inspector's problem.
    const alive = await this.store.transaction((tx) =>
      this.store.persons.refreshHeartbeat(tx, personId, toDbTime(this.clock())),
    )
    const person = await this.person(this.store.db, personId)
    if (!alive) {
      throw new ConflictError(
        'PERSON_NOT_LOGGED_IN',
        `Inspector ${personId} is not logged in, so there is no session to keep alive; ` +
          'log in first.',
      )
    }

    return person
  }

  /**
   * Finishes the task, frees its inspector and, in the same transaction, gives the next
   * pending task to whoever has been free the longest: normally that same inspector.
   * `byPersonId`, when given, must be the task's holder; a retry by the inspector who already
   * completed it is answered again (`already_completed`) instead of refused.
   */
  async completeTask(taskId: number, byPersonId?: number): Promise<CompletionResult> {
    const outcome = await this.store.transaction(async (tx) => {
      const now = this.clock()
      const seen = await this.store.tasks.find(tx, taskId)
      const personId = holderOrRefuse(taskId, seen, byPersonId)
      if (seen?.status === 'DONE') {
        const { task: next } = await this.presence(tx, personId)

        return { personId, completed: taskFromRow(seen), next, repeat: true, events: [] }
      }
      // Person before task, the service-wide lock order; then make sure nothing moved.
      await this.store.persons.lock(tx, personId)
      const task = await this.store.tasks.lock(tx, taskId)
      if (task?.status !== 'IN_PROGRESS' || task.assigned_person_id !== personId) {
        throw new LostRaceError(`task ${taskId} changed while its inspector was being locked`)
      }

      await this.store.tasks.markDone(tx, taskId, toDbTime(now))
      await this.store.assignments.close(tx, taskId, toDbTime(now), 'COMPLETED')
      await this.store.persons.markFree(tx, personId, toDbTime(now))
      const { assigned, started } = await assignWaitingWork(this.store, tx, now, 'COMPLETION')
      const nextId = assigned.find((a) => a.personId === personId)?.taskId
      const nextRow = nextId === undefined ? undefined : started.get(nextId)
      const workMs = task.assigned_at ? now.getTime() - fromDbTime(task.assigned_at).getTime() : 0
      const events: DomainEvent[] = [
        { type: 'task_completed', taskId, personId, workMs },
        ...assigned,
      ]

      return {
        personId,
        // Built from the locked row and what was written: no second read on the hot path.
        completed: taskFromRow({ ...task, status: 'DONE', completed_at: toDbTime(now) }),
        next: nextRow ? taskFromRow(nextRow) : null,
        repeat: false,
        events,
      }
    })
    this.publishAll(outcome.events)

    const { completed, next, repeat } = outcome
    const result = { completed, next_task: next, already_completed: repeat }
    if (next || repeat) return result

    return this.afterCommit(result, async () => {
      const late = await this.followUp('COMPLETION')
      const nextId = late.find((a) => a.personId === outcome.personId)?.taskId
      const nextTask = nextId === undefined ? null : await this.task(this.store.db, nextId)

      return { ...result, next_task: nextTask }
    })
  }

  /**
   * Logs out everyone whose last heartbeat is older than `timeoutS` seconds and puts their
   * tasks back in the queue. Returns how many were logged out.
   */
  async expireSilent(timeoutS: number, batchSize = 100): Promise<number> {
    const cutoff = toDbTime(new Date(this.clock().getTime() - timeoutS * 1000))
    const silent = await this.store.persons.findSilentSince(this.store.db, cutoff, batchSize)
    let expired = 0
    for (const personId of silent) {
      const events = await this.store.transaction(async (tx) => {
        const person = await this.store.persons.lock(tx, personId)
        // Re-checked under the lock: a heartbeat may have arrived since the scan.
        const stillSilent =
          person?.is_logged_in && person.last_heartbeat !== null && person.last_heartbeat < cutoff
        if (!stillSilent) return []

        return (await this.signOff(tx, personId, this.clock(), 'HEARTBEAT_EXPIRED')).events
      })
      if (events.length > 0) expired++
      this.publishAll(events)
    }
    if (expired > 0) await this.followUp('RELEASE')

    return expired
  }

  /** Pairs everything that can be paired; the sweeper's job. Returns how many were paired. */
  async assignAllWaiting(): Promise<number> {
    let total = 0
    for (;;) {
      const { assigned } = await this.store.transaction((tx) =>
        assignWaitingWork(this.store, tx, this.clock(), 'SWEEP'),
      )
      this.publishAll(assigned)
      total += assigned.length
      if (assigned.length === 0) return total
    }
  }

  /** Releases the person's task (if any) and logs them out; the caller holds their lock. */
  private async signOff(
    tx: Transaction<Database>,
    personId: number,
    now: Date,
    reason: EndReason,
  ): Promise<{ releasedId: number | null; events: DomainEvent[] }> {
    const events: DomainEvent[] = []
    const open = await this.store.assignments.findOpenTaskOf(tx, personId)
    if (open) {
      await this.store.tasks.lock(tx, open.task_id)
      await this.store.assignments.close(tx, open.task_id, toDbTime(now), reason)
      await this.store.tasks.requeue(tx, open.task_id)
      events.push({ type: 'task_released', taskId: open.task_id, personId, reason })
    }
    await this.store.persons.markLoggedOut(tx, personId)
    events.push({ type: 'person_logged_out', personId, reason })
    if (open) events.push(...(await assignWaitingWork(this.store, tx, now, 'RELEASE')).assigned)

    return { releasedId: open?.task_id ?? null, events }
  }

  private async lockPerson(tx: Transaction<Database>, personId: number) {
    const person = await this.store.persons.lock(tx, personId)
    if (!person) throw personNotFound(personId)

    return person
  }

  private async person(db: Transaction<Database> | Store['db'], id: number): Promise<Person> {
    const row = await this.store.persons.find(db, id)
    if (!row) throw personNotFound(id)

    return personFromRow(row)
  }

  private async task(db: Transaction<Database> | Store['db'], id: number): Promise<Task> {
    const row = await this.store.tasks.find(db, id)
    if (!row) throw new NotFoundError('TASK_NOT_FOUND', `No task has id ${id}.`)

    return taskFromRow(row)
  }

  private async presence(
    db: Transaction<Database> | Store['db'],
    personId: number,
  ): Promise<LoginResult> {
    const person = await this.person(db, personId)
    const task =
      person.current_task_id === null ? null : await this.task(db, person.current_task_id)

    return { person, task }
  }

  /**
   * Runs what follows a commit: the follow-up pairing and a fresh read for the answer. The
   * change is durable by now, so a failure here (the database gone a moment later) must not
   * become an answer saying nothing happened: it is reported, and the committed result is
   * answered; the sweeper makes any pair the follow-up could not.
   */
  private async afterCommit<T>(committed: T, refine: () => Promise<T>): Promise<T> {
    try {
      return await refine()
    } catch (error) {
      this.reportError(error, 'the follow-up after a commit failed')

      return committed
    }
  }

  private async followUp(reason: Assigned['reason']): Promise<Assigned[]> {
    const assigned = await followUp(this.store, this.clock, reason)
    this.publishAll(assigned)

    return assigned
  }

  private publishAll(events: DomainEvent[]): void {
    for (const event of events) this.publish(event)
  }
}
