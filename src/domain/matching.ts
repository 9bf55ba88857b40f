import { setTimeout as sleep } from 'node:timers/promises'
import type { Transaction } from 'kysely'
import type { Database } from '../store/schema.js'
import type { Store } from '../store/store.js'
import type { TaskRow } from '../store/tasks.js'
import { fromDbTime, toDbTime } from '../store/time.js'
import { recordEvents } from './event-record.js'
import type { Actor, DomainEvent } from './events.js'
import type { StartReason } from './model.js'

/**
 * At most this many pairs in one transaction, so no transaction holds locks for long; the
 * caller's follow-up (or the sweeper) takes the rest.
 */
export const MAX_ASSIGNMENTS_PER_TRANSACTION = 25

export type Assigned = Extract<DomainEvent, { type: 'task_assigned' }>

export interface Pairing {
  assigned: Assigned[]
  /** Each task paired, by id, as it stands after the pairing. */
  started: Map<number, TaskRow>
}

/**
 * Gives the oldest pending tasks to the people free the longest, inside `tx`, until one side
 * runs out.
 *
 * Lock order is the same everywhere in the service: a person before a task. Claims pass
 * over rows that other transactions hold (SKIP LOCKED), so concurrent claimers never wait on
 * each other; the person is claimed first because people are the scarce side under a backlog,
 * and a claim that finds nobody free then locks no task that another claimer would skip.
 *
 * Skipping locked rows has one cost: two transactions that each add one side (a task
 * created while a person is freed) can each miss the other's uncommitted row. The use cases
 * close that gap with `followUp` below, after their commit; the sweeper is the safety net.
 */
export async function assignWaitingWork(
  store: Store,
  tx: Transaction<Database>,
  now: Date,
  reason: StartReason,
  actor: Actor,
): Promise<Pairing> {
  const assigned: Assigned[] = []
  const started = new Map<number, TaskRow>()
  const at = toDbTime(now)

  while (assigned.length < MAX_ASSIGNMENTS_PER_TRANSACTION) {
    const person = await store.persons.claimLongestFree(tx)
    if (!person) break
    const task = await store.tasks.claimOldestPending(tx)
    if (!task) break

    await store.tasks.markInProgress(tx, task.id, person.id, at)
    await store.persons.markBusy(tx, person.id)
    const assignmentId = await store.assignments.open(tx, {
      taskId: task.id,
      personId: person.id,
      now: at,
      reason,
      actor,
    })

    assigned.push({
      type: 'task_assigned',
      taskId: task.id,
      personId: person.id,
      assignmentId,
      reason,
      waitMs: now.getTime() - fromDbTime(task.created_at).getTime(),
      actor,
    })
    // The row as the updates left it, so callers answer without reading it again.
    started.set(task.id, {
      ...task,
      status: 'IN_PROGRESS',
      assigned_person_id: person.id,
      assigned_at: at,
    })
  }

  return { assigned, started }
}

/** Tries after a round that paired nobody although both sides were there; see followUp. */
const FOLLOW_UP_IDLE_TRIES = 5

/**
 * Run after a commit that left a task pending or a person free. Each of two racing
 * transactions commits first and reads second, so whichever commits last sees the other's
 * row here, and the pair is made now rather than at the next sweep.
 *
 * A round that pairs nobody while both sides exist means their rows were locked. The holder
 * is not always about to pair them: a completion that lost its race locks the inspector and
 * gives up, a heartbeat or an expiry re-check holds the row for a moment. So try again after
 * a short, growing, jittered pause, a bounded number of times, rather than trusting them.
 */
export async function followUp(
  store: Store,
  clock: () => Date,
  reason: StartReason,
  actor: Actor,
): Promise<Assigned[]> {
  const assigned: Assigned[] = []
  let idleTries = 0
  while (await store.hasWaitingWork()) {
    const round = await store.transaction(async (tx) => {
      const now = clock()
      const { assigned: paired } = await assignWaitingWork(store, tx, now, reason, actor)
      await recordEvents(store, tx, paired, now)

      return paired
    })
    assigned.push(...round)
    if (round.length > 0) {
      idleTries = 0
      continue
    }
    if (++idleTries > FOLLOW_UP_IDLE_TRIES) break
    await sleep(Math.random() * 5 * 2 ** idleTries)
  }

  return assigned
}
