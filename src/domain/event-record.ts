import type { Kysely } from 'kysely'
import type { NewEvent } from '../store/events.js'
import type { Database } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { toDbTime } from '../store/time.js'
import type { DomainEvent } from './events.js'

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
