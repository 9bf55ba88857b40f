import { Type } from '@sinclair/typebox'
import { KEY_ROLES } from '../../domain/access/roles.js'
import { Id, Nullable, StringEnum, Timestamp } from './common.js'

export const TaskStatusSchema = StringEnum(
  ['PENDING', 'IN_PROGRESS', 'DONE', 'CANCELLED'],
  'PENDING -> IN_PROGRESS -> DONE; a released task goes back to PENDING; a supervisor may ' +
    'cancel a task that is not DONE.',
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
    created_by: Nullable(Type.String({ description: 'The actor who created the task.' })),
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
    badge_code: Nullable(Type.String()),
    has_pin: Type.Boolean({ description: 'Whether the inspector can sign in with a PIN.' }),
  },
  { title: 'Person' },
)

const StartReasonSchema = StringEnum(
  ['TASK_CREATED', 'LOGIN', 'COMPLETION', 'RELEASE', 'SWEEP'],
  'What made the assignment happen.',
)

const EndReasonSchema = StringEnum(
  ['COMPLETED', 'LOGOUT', 'HEARTBEAT_EXPIRED', 'RELEASED', 'CANCELLED'],
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
    started_by: Nullable(Type.String({ description: 'The actor whose request made the pair.' })),
    ended_by: Nullable(Type.String({ description: 'The actor who ended it.' })),
  },
  { title: 'Assignment' },
)

export const BadgeCode = Type.String({
  pattern: '^[!-~]{1,64}$',
  description: 'What the badge reader sends: 1 to 64 visible ASCII characters.',
})

export const Pin = Type.String({
  minLength: 4,
  maxLength: 128,
  description: 'A PIN or password, 4 to 128 characters; stored only as a slow hash.',
})

const Actor = Type.String({
  description: "'key:<name>', 'person:<id>', 'admin:env', 'system' or 'anonymous'.",
})

export const EventSchema = Type.Object(
  {
    id: Id,
    occurred_at: Timestamp,
    type: Type.String({
      description:
        'task_created, task_assigned, task_completed, task_released, task_cancelled, ' +
        'person_created, person_updated, person_logged_in, person_logged_out, ' +
        'api_key_created, api_key_revoked.',
    }),
    actor: Actor,
    task_id: Nullable(Id),
    person_id: Nullable(Id),
    detail: Nullable(Type.String({ description: 'A reason, changed fields or a key name.' })),
  },
  { title: 'Event' },
)

export const KeyRoleSchema = StringEnum(
  KEY_ROLES,
  'What the key may do; inspectors sign in with a PIN instead.',
)

export const ApiKeySchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    role: KeyRoleSchema,
    created_at: Timestamp,
    created_by: Actor,
    revoked_at: Nullable(Timestamp),
  },
  { title: 'ApiKey' },
)

export const SessionSchema = Type.Object(
  {
    token: Type.String({ description: 'Send as Authorization: Bearer <token>; shown once.' }),
    expires_at: Timestamp,
  },
  { title: 'Session' },
)
