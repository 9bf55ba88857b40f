import { Type } from '@sinclair/typebox'
import { Id, Nullable, Timestamp } from './common.js'

export const TaskStatusSchema = Type.Union(
  [Type.Literal('PENDING'), Type.Literal('IN_PROGRESS'), Type.Literal('DONE')],
  { description: 'PENDING -> IN_PROGRESS -> DONE; a released task goes back to PENDING.' },
)

export const PersonStateSchema = Type.Union(
  [Type.Literal('offline'), Type.Literal('free'), Type.Literal('busy')],
  { description: 'offline: logged out; free: logged in, no task; busy: holds a task.' },
)

export const TaskSchema = Type.Object(
  {
    id: Id,
    description: Type.String(),
    status: TaskStatusSchema,
    created_at: Timestamp,
    assigned_person_id: Nullable(Id),
    assigned_at: Nullable(Timestamp),
    completed_at: Nullable(Timestamp),
  },
  { title: 'Task' },
)

export const PersonSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    state: PersonStateSchema,
    is_logged_in: Type.Boolean(),
    is_busy: Type.Boolean(),
    last_heartbeat: Nullable(Timestamp),
    available_since: Nullable(Timestamp),
    current_task_id: Nullable(Id),
    created_at: Timestamp,
  },
  { title: 'Person' },
)

const StartReasonSchema = Type.Union(
  ['TASK_CREATED', 'LOGIN', 'COMPLETION', 'RELEASE', 'SWEEP'].map((r) => Type.Literal(r)),
  { description: 'What made the assignment happen.' },
)

const EndReasonSchema = Type.Union(
  ['COMPLETED', 'LOGOUT', 'HEARTBEAT_EXPIRED'].map((r) => Type.Literal(r)),
  { description: 'How the assignment ended.' },
)

export const AssignmentSchema = Type.Object(
  {
    id: Id,
    task_id: Id,
    person_id: Id,
    assigned_at: Timestamp,
    completed_at: Nullable(Timestamp),
    start_reason: StartReasonSchema,
    end_reason: Nullable(EndReasonSchema),
  },
  { title: 'Assignment' },
)
