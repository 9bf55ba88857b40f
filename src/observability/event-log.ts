import type { FastifyBaseLogger } from 'fastify'
import type { DomainEventListener } from '../domain/events.js'

/** What an operator reads in the log: assignments and people coming and going at info. */
export function eventLogger(log: FastifyBaseLogger): DomainEventListener {
  return (event) => {
    switch (event.type) {
      case 'task_assigned':
        log.info(
          {
            taskId: event.taskId,
            personId: event.personId,
            waitMs: event.waitMs,
            reason: event.reason,
          },
          'task assigned',
        )
        break
      case 'task_completed':
        log.info(
          { taskId: event.taskId, personId: event.personId, workMs: event.workMs },
          'task completed',
        )
        break
      case 'task_released':
        log.info(
          { taskId: event.taskId, personId: event.personId, reason: event.reason },
          'task released to the queue',
        )
        break
      case 'person_logged_in':
        log.info({ personId: event.personId }, 'inspector logged in')
        break
      case 'person_logged_out':
        log.info({ personId: event.personId, reason: event.reason }, 'inspector logged out')
        break
      case 'task_created':
        log.debug({ taskId: event.taskId }, 'task created')
        break
    }
  }
}
