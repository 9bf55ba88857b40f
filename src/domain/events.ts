import type { EndReason, StartReason } from './model.js'

/**
 * Who caused a change, as the audit trail records it: 'key:<name>' for an API key,
 * 'person:<id>' for an inspector's session, 'admin:env' for ADMIN_API_KEY, 'system' for the
 * sweeper, 'anonymous' when authentication is off.
 */
export type Actor = string

export const SYSTEM_ACTOR: Actor = 'system'

/** What happened, told after the transaction that did it has committed. */
export type DomainEvent = { actor: Actor } & (
  | { type: 'task_created'; taskId: number }
  | {
      type: 'task_assigned'
      taskId: number
      personId: number
      assignmentId: number
      reason: StartReason
      /** From the task's creation to this assignment. */
      waitMs: number
    }
  | { type: 'task_completed'; taskId: number; personId: number; workMs: number }
  | { type: 'task_released'; taskId: number; personId: number; reason: EndReason }
  | { type: 'task_cancelled'; taskId: number; personId: number | null }
  | { type: 'person_created'; personId: number }
  | { type: 'person_updated'; personId: number; fields: string[] }
  | { type: 'person_logged_in'; personId: number }
  | { type: 'person_logged_out'; personId: number; reason: EndReason }
  | { type: 'api_key_created'; keyId: number; name: string; role: string }
  | { type: 'api_key_revoked'; keyId: number; name: string }
)

export type DomainEventType = DomainEvent['type']

/** Metrics, logs and live streams listen here; the rules never log or count. */
export type DomainEventListener = (event: DomainEvent) => void
