import type { Kysely, Transaction } from 'kysely'
import type { NewEvent } from '../store/events.js'
import type { Database } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { toDbTime } from '../store/time.js'
import type { DomainEvent, DomainEventListener } from './events.js'

/**
 * Writes events to the audit trail inside the transaction that made them, so the trail
 * holds exactly what committed: no change without its record, no record without its change.
 */
export async function recordEvents(
  store: Store,
  db: Kysely<Database>,
  events: readonly DomainEvent[],
  now: Date,
): Promise<void> {
  await store.events.append(
    db,
    events.map((event) => toEventRow(event, now)),
  )
}

/** Where a use case's changes go: the store, its clock, and who is told after the commit. */
export interface Recorder {
  store: Store
  clock: () => Date
  publish: DomainEventListener
}

/**
 * Runs `work` in a retried transaction with one timestamp, writes the events it returns to
 * the audit trail in the same transaction, and publishes them once it has committed: the
 * one way every use case changes state.
 */
export async function commitRecorded<T extends { events: readonly DomainEvent[] }>(
  { store, clock, publish }: Recorder,
  work: (tx: Transaction<Database>, now: Date) => Promise<T>,
): Promise<T> {
  const outcome = await store.transaction(async (tx) => {
    const now = clock()
    const result = await work(tx, now)
    await recordEvents(store, tx, result.events, now)

    return result
  })
  for (const event of outcome.events) publish(event)

  return outcome
}

function toEventRow(event: DomainEvent, now: Date): NewEvent {
  const row = {
    occurred_at: toDbTime(now),
    type: event.type,
    actor: event.actor,
    task_id: 'taskId' in event ? event.taskId : null,
    person_id: 'personId' in event ? event.personId : null,
  }

  return { ...row, detail: detailOf(event) }
}

/** The one fact beside the ids that a reader of the trail needs. */
function detailOf(event: DomainEvent): string | null {
  switch (event.type) {
    case 'task_assigned':
    case 'task_released':
    case 'person_logged_out':
      return event.reason
    case 'person_updated':
      return event.fields.join(', ')
    case 'api_key_created':
      return `${event.name} (${event.role})`
    case 'api_key_revoked':
      return event.name
    default:
      return null
  }
}
