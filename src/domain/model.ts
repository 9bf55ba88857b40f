import type { AssignmentRow } from '../store/assignments.js'
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
  completed_at: string | null
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
  }
}

export function assignmentFromRow(row: AssignmentRow): Assignment {
  return {
    ...row,
    assigned_at: isoFromDbTime(row.assigned_at),
    completed_at: isoOrNull(row.completed_at),
  }
}
