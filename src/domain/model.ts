import type { AssignmentRow } from '../store/assignments.js'
import type { EventRow } from '../store/events.js'
import type { PersonRow, PersonState } from '../store/persons.js'
import type { EndReason, StartReason, TaskStatus } from '../store/schema.js'
import type { TaskRow } from '../store/tasks.js'
import { isoFromDbTime, isoOrNull } from '../store/time.js'

export type { EndReason, PersonState, StartReason, TaskStatus }

/** Times are ISO 8601 in UTC with milliseconds. */
export interface Task {
  id: number
  description: string
  status: TaskStatus
  created_at: string
  assigned_person_id: number | null
  assigned_at: string | null
  /** When the task ended: completed (DONE) or withdrawn (CANCELLED). */
  completed_at: string | null
  /** Who created it: 'key:<name>', 'person:<id>', 'admin:env' or 'anonymous'. */
  created_by: string | null
}

export interface Person {
  id: number
  name: string
  state: PersonState
  is_logged_in: boolean
  is_busy: boolean
  last_heartbeat: string | null
  available_since: string | null
  current_task_id: number | null
  created_at: string
  badge_code: string | null
  /** Whether the inspector can sign in with a PIN; the PIN itself never leaves the store. */
  has_pin: boolean
}

export interface Assignment {
  id: number
  task_id: number
  person_id: number
  assigned_at: string
  /** When the assignment ended, whether by completion or by release. */
  completed_at: string | null
  start_reason: StartReason
  end_reason: EndReason | null
  /** The actor whose request made the pair; 'system' for the sweeper. */
  started_by: string | null
  /** The actor who completed, released or cancelled it, or logged the inspector out. */
  ended_by: string | null
}

/** One line of the audit trail. */
export interface AuditEvent {
  id: number
  occurred_at: string
  type: string
  actor: string
  task_id: number | null
  person_id: number | null
  detail: string | null
}

export interface Page<T> {
  items: T[]
  /** Pass back as `cursor` for the next page; null on the last one. */
  next_cursor: string | null
}

export function taskFromRow(row: TaskRow): Task {
  return {
    id: row.id,
    description: row.description,
    status: row.status,
    created_at: isoFromDbTime(row.created_at),
    assigned_person_id: row.assigned_person_id,
    assigned_at: isoOrNull(row.assigned_at),
    completed_at: isoOrNull(row.completed_at),
    created_by: row.created_by,
  }
}

export function personFromRow(row: PersonRow): Person {
  const loggedIn = Boolean(row.is_logged_in)
  const busy = Boolean(row.is_busy)

  return {
    id: row.id,
    name: row.name,
    state: !loggedIn ? 'offline' : busy ? 'busy' : 'free',
    is_logged_in: loggedIn,
    is_busy: busy,
    last_heartbeat: isoOrNull(row.last_heartbeat),
    available_since: isoOrNull(row.available_since),
    current_task_id: row.current_task_id,
    created_at: isoFromDbTime(row.created_at),
    badge_code: row.badge_code,
    has_pin: row.pin_hash !== null,
  }
}

export function assignmentFromRow(row: AssignmentRow): Assignment {
  return {
    ...row,
    assigned_at: isoFromDbTime(row.assigned_at),
    completed_at: isoOrNull(row.completed_at),
  }
}

export function eventFromRow(row: EventRow): AuditEvent {
  return { ...row, occurred_at: isoFromDbTime(row.occurred_at) }
}
