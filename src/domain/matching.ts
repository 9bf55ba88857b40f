import type { Transaction } from 'kysely'
import type { Database } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { fromDbTime, toDbTime } from '../store/time.js'
import type { DomainEvent } from './events.js'
import type { StartReason } from './model.js'

/**
 * At most this many pairs in one transaction, so no transaction holds locks for long; the
 * caller's follow-up (or the sweeper) takes the rest.
 */
export const MAX_ASSIGNMENTS_PER_TRANSACTION = 25

export type Assigned = Extract<DomainEvent, { type: 'task_assigned' }>

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
): Promise<Assigned[]> {
  const assigned: Assigned[] = []
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
    })

    assigned.push({
      type: 'task_assigned',
      taskId: task.id,
      personId: person.id,
      assignmentId,
      reason,
      waitMs: now.getTime() - fromDbTime(task.created_at).getTime(),
    })
  }

  return assigned
}

/**
 * Run after a commit that left a task pending or a person free. Each of two racing
 * transactions commits first and reads second, so whichever commits last sees the other's
 * row here, and the pair is made now rather than at the next sweep.
 */
export async function followUp(
  store: Store,
  clock: () => Date,
  reason: StartReason,
): Promise<Assigned[]> {
  const assigned: Assigned[] = []
  while (await store.hasWaitingWork()) {
    const round = await store.transaction((tx) => assignWaitingWork(store, tx, clock(), reason))
    assigned.push(...round)
    // Nothing matched although both sides looked present: others hold them and will finish.
    if (round.length === 0) break
  }

  return assigned
}
