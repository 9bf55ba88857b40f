import type { EndReason, StartReason } from './model.js'

/** What happened, told after the transaction that did it has committed. */
export type DomainEvent =
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
  | { type: 'person_logged_in'; personId: number }
  | { type: 'person_logged_out'; personId: number; reason: EndReason }

/** Metrics, logs and (later) live streams listen here; the rules never log or count. */
export type DomainEventListener = (event: DomainEvent) => void
