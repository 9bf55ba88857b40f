import type { ColumnType, Generated } from 'kysely'

export type TaskStatus = 'PENDING' | 'IN_PROGRESS' | 'DONE' | 'CANCELLED'

/** What made an assignment happen. */
export type StartReason = 'TASK_CREATED' | 'LOGIN' | 'COMPLETION' | 'RELEASE' | 'SWEEP'

/** How an assignment ended. `completed_at` holds the moment, whatever the reason. */
export type EndReason = 'COMPLETED' | 'LOGOUT' | 'HEARTBEAT_EXPIRED' | 'RELEASED' | 'CANCELLED'

/**
 * Timestamps travel as UTC text 'YYYY-MM-DD HH:MM:SS.mmm' on both stores: DATETIME(3) on
 * MySQL (read back as strings), TEXT on SQLite, where that form also sorts correctly.
 */
export type DbTime = string

/** Booleans are 0 or 1 on both stores. */
export type DbBool = number

export interface QcPersonTable {
  id: Generated<number>
  name: string
  is_logged_in: ColumnType<DbBool, DbBool | undefined, DbBool>
  is_busy: ColumnType<DbBool, DbBool | undefined, DbBool>
  last_heartbeat: DbTime | null
  /** Set while the person is logged in and free; the fairness order among free people. */
  available_since: DbTime | null
  created_at: DbTime
  /** scrypt of the inspector's PIN (see domain/access/secrets.ts); null: cannot sign in. */
  pin_hash: string | null
  badge_code: string | null
}

export interface QcTaskTable {
  id: Generated<number>
  description: string
  status: ColumnType<TaskStatus, TaskStatus | undefined, TaskStatus>
  created_at: DbTime
  assigned_person_id: number | null
  assigned_at: DbTime | null
  completed_at: DbTime | null
  /** The actor who created it; null for tasks from before actors were recorded. */
  created_by: string | null
}

export interface AssignmentTable {
  id: Generated<number>
  task_id: number
  person_id: number
  assigned_at: DbTime
  completed_at: DbTime | null
  start_reason: StartReason
  end_reason: EndReason | null
  /** The actor whose request made the pair (the sweeper is 'system'). */
  started_by: string | null
  ended_by: string | null
  /** Generated: task_id while open, NULL once ended. A unique index makes it the last guard. */
  open_task_id: ColumnType<number | null, never, never>
  /** Generated: person_id while open, NULL once ended. Unique, like open_task_id. */
  open_person_id: ColumnType<number | null, never, never>
}

export interface IdempotencyKeyTable {
  key_value: string
  /** SHA-256 of the request body, hex: the same key with another body is refused. */
  request_digest: string
  task_id: number
  created_at: DbTime
}

/** The roles an API key can hold; inspectors sign in with a PIN instead. */
export type KeyRole = 'admin' | 'supervisor' | 'integration'

export interface ApiKeyTable {
  id: Generated<number>
  name: string
  role: KeyRole
  /** SHA-256 of the key, hex; the key itself is shown once and never stored. */
  secret_hash: string
  created_at: DbTime
  created_by: string
  revoked_at: DbTime | null
}

export interface InspectorSessionTable {
  id: Generated<number>
  token_hash: string
  person_id: number
  created_at: DbTime
  expires_at: DbTime
  revoked_at: DbTime | null
}

/** Failed sign-ins per subject ('person:7', 'badge:…', 'address:…') in the current window. */
export interface SignInThrottleTable {
  subject: string
  failures: number
  first_failed_at: DbTime
  blocked_until: DbTime | null
}

/** Every change of state, with its actor, in commit order per row; the audit trail. */
export interface QcEventTable {
  id: Generated<number>
  occurred_at: DbTime
  type: string
  actor: string
  task_id: number | null
  person_id: number | null
  detail: string | null
}

export interface Database {
  qc_person: QcPersonTable
  qc_task: QcTaskTable
  assignment: AssignmentTable
  idempotency_key: IdempotencyKeyTable
  api_key: ApiKeyTable
  inspector_session: InspectorSessionTable
  sign_in_throttle: SignInThrottleTable
  qc_event: QcEventTable
}
