import {
  ConflictError,
  type DomainError,
  InvalidInputError,
  NotFoundError,
  UnprocessableError,
} from './errors.js'

// The sentences the rules refuse requests with, kept apart from the transactions they guard.

/**
 * JSON can carry half of a UTF-16 surrogate pair, which no database stores faithfully: MySQL
 * and SQLite would each replace it differently. Refusing it keeps every text round-trip exact.
 */
export function refuseBrokenText(field: string, text: string): void {
  // With the u flag, a paired surrogate reads as one code point; only a lone half is Cs.
  if (/\p{Cs}/u.test(text)) {
    throw new InvalidInputError(
      'BAD_TEXT',
      `${field} holds an unpaired UTF-16 surrogate (a broken \\u escape); send valid Unicode.`,
    )
  }
}

/**
 * Who holds the task that is to be completed or released, or why nobody may act on it. For a
 * completion, a DONE task passes only for a repeat by the inspector who completed it; the
 * caller answers that without changing anything.
 */
export function holderOrRefuse(
  taskId: number,
  task: { status: string; assigned_person_id: number | null } | undefined,
  byPersonId: number | undefined,
  action: 'completed' | 'released' = 'completed',
): number {
  if (!task) throw new NotFoundError('TASK_NOT_FOUND', `No task has id ${taskId}.`)
  const holder = task.assigned_person_id
  if (task.status === 'DONE') {
    const repeat = action === 'completed' && byPersonId !== undefined && byPersonId === holder
    if (repeat && holder !== null) return holder
    throw new ConflictError(
      'TASK_ALREADY_DONE',
      `Task ${taskId} is already DONE, completed by inspector ${holder}; ` +
        `a finished task cannot be ${action}.`,
    )
  }
  if (task.status !== 'IN_PROGRESS' || holder === null) {
    throw new ConflictError(
      'TASK_NOT_IN_PROGRESS',
      `Task ${taskId} is ${task.status}: nobody holds it, so it cannot be ${action}.`,
    )
  }
  if (byPersonId !== undefined && byPersonId !== holder) {
    throw new ConflictError(
      'NOT_YOUR_TASK',
      `Task ${taskId} is held by inspector ${holder}, not by inspector ${byPersonId}; ` +
        `only its holder may have it ${action}.`,
    )
  }

  return holder
}

export function keyReused(key: string): DomainError {
  return new UnprocessableError(
    'IDEMPOTENCY_KEY_REUSED',
    `Idempotency-Key ${JSON.stringify(key)} was first used with another description; ` +
      'use a new key for a new task.',
  )
}

export function personNotFound(id: number): NotFoundError {
  return new NotFoundError('PERSON_NOT_FOUND', `No inspector has id ${id}.`)
}
