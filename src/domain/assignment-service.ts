import { createHash } from 'node:crypto'
import type { Transaction } from 'kysely'
import { LostRaceError } from '../store/dialect.js'
import type { Database, EndReason } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { fromDbTime, toDbTime } from '../store/time.js'
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js'
import { commitRecorded } from './event-record.js'
import { type Actor, type DomainEvent, type DomainEventListener, SYSTEM_ACTOR } from './events.js'
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

export interface ReleaseResult {
  /** The task, back in the queue or already with the next inspector. */
  released: Task
  /** The task the former holder was given next, if any. */
  next_task: Task | null
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

  /**
   * Creates a task and assigns it at once if someone is free. With an idempotency key, a
   * retry of the same request returns the task the first one created (`replayed`), and the
   * same key with another description is refused.
   */
  async createTask(
    description: string,
    idempotencyKey: string | undefined,
    actor: Actor,
  ): Promise<CreatedTask> {
    refuseBrokenText('description', description)
    if (description.trim().length === 0) {
      throw new InvalidInputError('BLANK_DESCRIPTION', 'description must not be blank.')
    }
    const digest = createHash('sha256').update(description).digest('hex')
    const outcome = await this.commit(async (tx, now) => {
      if (idempotencyKey !== undefined) {
        const earlier = await this.store.idempotencyKeys.find(tx, idempotencyKey)
        if (earlier) {
          if (earlier.request_digest !== digest) throw keyReused(idempotencyKey)
          const task = await this.task(tx, earlier.task_id)

          return { task, replayed: true, events: [] as DomainEvent[] }
        }
      }
      const at = toDbTime(now)
      const id = await this.store.tasks.insert(tx, { description, now: at, createdBy: actor })
      if (idempotencyKey !== undefined) {
        const entry = { key: idempotencyKey, digest, taskId: id, now: at }
        await this.store.idempotencyKeys.remember(tx, entry)
      }
      const pairing = await assignWaitingWork(this.store, tx, now, 'TASK_CREATED', actor)
      const events: DomainEvent[] = [{ type: 'task_created', taskId: id, actor }]
      events.push(...pairing.assigned)
      const row = pairing.started.get(id)
      const task = row ? taskFromRow(row) : await this.task(tx, id)

      return { task, replayed: false, events }
    })

    const { task, replayed } = outcome
    if (task.status !== 'PENDING' || replayed) return { task, replayed }

    return this.afterCommit({ task, replayed }, async () => {
      const late = await this.followUp('TASK_CREATED', actor)
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
  async login(personId: number, actor: Actor): Promise<LoginResult> {
    const outcome = await this.commit(async (tx, now) => {
      const person = await this.lockPerson(tx, personId)
      const events: DomainEvent[] = []
      if (person.is_logged_in) {
        await this.store.persons.refreshHeartbeat(tx, personId, toDbTime(now))
      } else {
        await this.store.persons.markLoggedIn(tx, personId, toDbTime(now))
        events.push({ type: 'person_logged_in', personId, actor })
        events.push(...(await assignWaitingWork(this.store, tx, now, 'LOGIN', actor)).assigned)
      }

      return { result: await this.presence(tx, personId), events }
    })

    if (outcome.result.person.state !== 'free') return outcome.result

    return this.afterCommit(outcome.result, async () => {
      const late = await this.followUp('LOGIN', actor)

      return late.some((a) => a.personId === personId)
        ? this.presence(this.store.db, personId)
        : outcome.result
    })
  }

  /**
   * Logs the person out and ends their sessions; their task goes back to the queue at its
   * original place.
   */
  async logout(personId: number, actor: Actor): Promise<LogoutResult> {
    const outcome = await this.commit(async (tx, now) => {
      const person = await this.lockPerson(tx, personId)
      await this.store.sessions.revokeAllOf(tx, personId, toDbTime(now))
      if (!person.is_logged_in) {
        return { person: await this.person(tx, personId), released: null, events: [] }
      }
      const { releasedId, events } = await this.signOff(tx, personId, now, 'LOGOUT', actor)
      const released = releasedId === null ? null : await this.task(tx, releasedId)

      return { person: await this.person(tx, personId), released, events }
    })

    const { person, released } = outcome
    const result = { person, released_task: released }
    if (released?.status !== 'PENDING') return result

    return this.afterCommit(result, async () => {
      await this.followUp('RELEASE', actor)

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
  async completeTask(
    taskId: number,
    byPersonId: number | undefined,
    actor: Actor,
  ): Promise<CompletionResult> {
    const outcome = await this.commit(async (tx, now) => {
      const seen = await this.store.tasks.find(tx, taskId)
      const personId = holderOrRefuse(taskId, seen, byPersonId)
      if (seen?.status === 'DONE') {
        const { task: next } = await this.presence(tx, personId)

        return { personId, completed: taskFromRow(seen), next, repeat: true, events: [] }
      }
      const task = await this.lockHolderAndTask(tx, taskId, personId)
      const at = toDbTime(now)
      await this.store.tasks.markDone(tx, taskId, at)
      await this.store.assignments.close(tx, taskId, at, 'COMPLETED', actor)
      await this.store.persons.markFree(tx, personId, at)
      const pairing = await assignWaitingWork(this.store, tx, now, 'COMPLETION', actor)
      const nextId = pairing.assigned.find((a) => a.personId === personId)?.taskId
      const nextRow = nextId === undefined ? undefined : pairing.started.get(nextId)
      const workMs = task.assigned_at ? now.getTime() - fromDbTime(task.assigned_at).getTime() : 0
      const events: DomainEvent[] = [
        { type: 'task_completed', taskId, personId, workMs, actor },
        ...pairing.assigned,
      ]

      return {
        personId,
        // Built from the locked row and what was written: no second read on the hot path.
        completed: taskFromRow({ ...task, status: 'DONE', completed_at: at }),
        next: nextRow ? taskFromRow(nextRow) : null,
        repeat: false,
        events,
      }
    })

    const { completed, next, repeat } = outcome
    const result = { completed, next_task: next, already_completed: repeat }
    if (next || repeat) return result

    return this.afterCommit(result, async () => {
      const nextTask = await this.nextTaskAfterFollowUp('COMPLETION', actor, outcome.personId)

      return { ...result, next_task: nextTask }
    })
  }

  /**
   * Takes a task in progress back from its inspector and returns it to the queue at its
   * original place. Another free inspector gets it first; the former holder stays logged in
   * and joins the back of the free line, so they get it back only if nobody else is free.
   * `byPersonId`, when given, must be the holder.
   */
  async releaseTask(
    taskId: number,
    byPersonId: number | undefined,
    actor: Actor,
  ): Promise<ReleaseResult> {
    const outcome = await this.commit(async (tx, now) => {
      const seen = await this.store.tasks.find(tx, taskId)
      const personId = holderOrRefuse(taskId, seen, byPersonId, 'released')
      const at = toDbTime(now)
      await this.lockHolderAndTask(tx, taskId, personId)
      await this.store.assignments.close(tx, taskId, at, 'RELEASED', actor)
      await this.store.tasks.requeue(tx, taskId)
      const events: DomainEvent[] = [
        { type: 'task_released', taskId, personId, reason: 'RELEASED', actor },
      ]
      // While the holder is still marked busy, so the task goes to somebody else first.
      const others = await assignWaitingWork(this.store, tx, now, 'RELEASE', actor)
      await this.store.persons.markFree(tx, personId, at)
      const own = await assignWaitingWork(this.store, tx, now, 'RELEASE', actor)
      events.push(...others.assigned, ...own.assigned)
      const nextId = own.assigned.find((a) => a.personId === personId)?.taskId
      const next = nextId === undefined ? null : await this.task(tx, nextId)

      return { personId, released: await this.task(tx, taskId), next, events }
    })

    const result = { released: outcome.released, next_task: outcome.next }
    if (outcome.next) return result

    return this.afterCommit(result, async () => {
      const nextTask = await this.nextTaskAfterFollowUp('RELEASE', actor, outcome.personId)

      return { released: await this.task(this.store.db, taskId), next_task: nextTask }
    })
  }

  /**
   * Withdraws a task that is pending or in progress. Its inspector, if it had one, is free
   * again and gets the next task in the same transaction. Cancelling twice is harmless.
   */
  async cancelTask(taskId: number, actor: Actor): Promise<Task> {
    const outcome = await this.commit(async (tx, now) => {
      const seen = await this.task(tx, taskId)
      if (seen.status === 'CANCELLED') return { task: seen, holder: null, events: [] }
      if (seen.status === 'DONE') {
        throw new ConflictError(
          'TASK_ALREADY_DONE',
          `Task ${taskId} is already DONE; a finished task cannot be cancelled.`,
        )
      }
      const at = toDbTime(now)
      const holder = seen.status === 'IN_PROGRESS' ? seen.assigned_person_id : null
      if (holder === null) {
        const locked = await this.store.tasks.lock(tx, taskId)
        if (locked?.status !== 'PENDING') throw new LostRaceError(`task ${taskId} moved`)
      } else {
        await this.lockHolderAndTask(tx, taskId, holder)
        await this.store.assignments.close(tx, taskId, at, 'CANCELLED', actor)
      }
      await this.store.tasks.markCancelled(tx, taskId, at)
      const events: DomainEvent[] = [{ type: 'task_cancelled', taskId, personId: holder, actor }]
      if (holder !== null) {
        await this.store.persons.markFree(tx, holder, at)
        events.push(...(await assignWaitingWork(this.store, tx, now, 'RELEASE', actor)).assigned)
      }

      return { task: await this.task(tx, taskId), holder, events }
    })

    if (outcome.holder !== null) {
      await this.afterCommit(null, async () => {
        await this.followUp('RELEASE', actor)
        return null
      })
    }

    return outcome.task
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
      const { events } = await this.commit(async (tx, now) => {
        const person = await this.store.persons.lock(tx, personId)
        // Re-checked under the lock: a heartbeat may have arrived since the scan.
        const stillSilent =
          person?.is_logged_in && person.last_heartbeat !== null && person.last_heartbeat < cutoff
        if (!stillSilent) return { events: [] }
        await this.store.sessions.revokeAllOf(tx, personId, toDbTime(now))

        return this.signOff(tx, personId, now, 'HEARTBEAT_EXPIRED', SYSTEM_ACTOR)
      })
      if (events.length > 0) expired++
    }
    if (expired > 0) await this.followUp('RELEASE', SYSTEM_ACTOR)

    return expired
  }

  /** Pairs everything that can be paired; the sweeper's job. Returns how many were paired. */
  async assignAllWaiting(): Promise<number> {
    let total = 0
    for (;;) {
      const { events } = await this.commit(async (tx, now) => ({
        events: (await assignWaitingWork(this.store, tx, now, 'SWEEP', SYSTEM_ACTOR)).assigned,
      }))
      total += events.length
      if (events.length === 0) return total
    }
  }

  private commit<T extends { events: DomainEvent[] }>(
    work: (tx: Transaction<Database>, now: Date) => Promise<T>,
  ): Promise<T> {
    return commitRecorded({ store: this.store, clock: this.clock, publish: this.publish }, work)
  }

  /** Person before task, the service-wide lock order; then makes sure nothing moved. */
  private async lockHolderAndTask(tx: Transaction<Database>, taskId: number, personId: number) {
    await this.store.persons.lock(tx, personId)
    const task = await this.store.tasks.lock(tx, taskId)
    if (task?.status !== 'IN_PROGRESS' || task.assigned_person_id !== personId) {
      throw new LostRaceError(`task ${taskId} changed while its inspector was being locked`)
    }

    return task
  }

  /** Releases the person's task (if any) and logs them out; the caller holds their lock. */
  private async signOff(
    tx: Transaction<Database>,
    personId: number,
    now: Date,
    reason: EndReason,
    actor: Actor,
  ): Promise<{ releasedId: number | null; events: DomainEvent[] }> {
    const events: DomainEvent[] = []
    const open = await this.store.assignments.findOpenTaskOf(tx, personId)
    if (open) {
      await this.store.tasks.lock(tx, open.task_id)
      await this.store.assignments.close(tx, open.task_id, toDbTime(now), reason, actor)
      await this.store.tasks.requeue(tx, open.task_id)
      events.push({ type: 'task_released', taskId: open.task_id, personId, reason, actor })
    }
    await this.store.persons.markLoggedOut(tx, personId)
    events.push({ type: 'person_logged_out', personId, reason, actor })
    if (open) {
      events.push(...(await assignWaitingWork(this.store, tx, now, 'RELEASE', actor)).assigned)
    }

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

  private async nextTaskAfterFollowUp(
    reason: Assigned['reason'],
    actor: Actor,
    personId: number,
  ): Promise<Task | null> {
    const late = await this.followUp(reason, actor)
    const nextId = late.find((a) => a.personId === personId)?.taskId

    return nextId === undefined ? null : this.task(this.store.db, nextId)
  }

  private async followUp(reason: Assigned['reason'], actor: Actor): Promise<Assigned[]> {
    const assigned = await followUp(this.store, this.clock, reason, actor)
    for (const event of assigned) this.publish(event)

    return assigned
  }
}
