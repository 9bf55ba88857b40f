import { Type } from '@sinclair/typebox'
import { Id, Nullable, StringEnum, Timestamp } from './common.js'

export const TaskStatusSchema = StringEnum(
  ['PENDING', 'IN_PROGRESS', 'DONE'],
  'PENDING -> IN_PROGRESS -> DONE; a released task goes back to PENDING.',
)

export const PersonStateSchema = StringEnum(
  ['offline', 'free', 'busy'],
  'offline: logged out; free: logged in, no task; busy: holds a task.',
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

const StartReasonSchema = StringEnum(
  ['TASK_CREATED', 'LOGIN', 'COMPLETION', 'RELEASE', 'SWEEP'],
  'What made the assignment happen.',
)

const EndReasonSchema = StringEnum(
  ['COMPLETED', 'LOGOUT', 'HEARTBEAT_EXPIRED'],
  'How the assignment ended.',
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
