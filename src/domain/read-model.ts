import type { PersonState } from '../store/persons.js'
import type { TaskStatus } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { NotFoundError } from './errors.js'
import {
  type Assignment,
  type AuditEvent,
  assignmentFromRow,
  eventFromRow,
  type Page,
  type Person,
  personFromRow,
  type Task,
  taskFromRow,
} from './model.js'
import { Listing, type PageRequest } from './paging.js'

export type { PageRequest }

const PERSONS = new Listing('persons', ['id'] as const)
const AVAILABLE = new Listing('available', ['time', 'id'] as const)
const TASKS = new Listing('tasks', ['id'] as const)
const PENDING = new Listing('pending', ['time', 'id'] as const)
const ASSIGNMENTS = new Listing('assignments', ['id'] as const)
const EVENTS = new Listing('events', ['id'] as const)

/** What supervisors and inspectors read: plain reads, no locks, paged by keyset. */
export class ReadModel {
  constructor(private readonly store: Store) {}

  async person(id: number): Promise<Person> {
    const row = await this.store.persons.find(this.store.db, id)
    if (!row) throw new NotFoundError('PERSON_NOT_FOUND', `No inspector has id ${id}.`)

    return personFromRow(row)
  }

  /** The inspector with this badge; 404 when nobody has it. */
  async personIdByBadge(badgeCode: string): Promise<number> {
    const row = await this.store.persons.findCredentials(this.store.db, { badgeCode })
    if (!row) {
      throw new NotFoundError(
        'PERSON_NOT_FOUND',
        `No inspector has badge ${JSON.stringify(badgeCode)}.`,
      )
    }

    return row.id
  }

  /** Whether the person ever held the task: what lets an inspector read it. */
  async hasHeld(personId: number, taskId: number): Promise<boolean> {
    const rows = await this.store.assignments.list(this.store.db, { taskId, personId, limit: 1 })

    return rows.length > 0
  }

  async persons(request: PageRequest & { state?: PersonState }): Promise<Page<Person>> {
    const rows = await this.store.persons.list(this.store.db, {
      state: request.state,
      afterId: PERSONS.after(request)?.[0],
      limit: PERSONS.limitOf(request) + 1,
    })

    return PERSONS.page(rows, request, personFromRow, (row) => [row.id])
  }

  async availablePersons(request: PageRequest): Promise<Page<Person>> {
    const rows = await this.store.persons.listAvailable(this.store.db, {
      after: AVAILABLE.after(request),
      limit: AVAILABLE.limitOf(request) + 1,
    })

    return AVAILABLE.page(rows, request, personFromRow, (row) => [
      row.available_since ?? '',
      row.id,
    ])
  }

  async task(id: number): Promise<Task> {
    const row = await this.store.tasks.find(this.store.db, id)
    if (!row) throw new NotFoundError('TASK_NOT_FOUND', `No task has id ${id}.`)

    return taskFromRow(row)
  }

  async tasks(request: PageRequest & { status?: TaskStatus }): Promise<Page<Task>> {
    const rows = await this.store.tasks.list(this.store.db, {
      status: request.status,
      beforeId: TASKS.after(request)?.[0],
      limit: TASKS.limitOf(request) + 1,
    })

    return TASKS.page(rows, request, taskFromRow, (row) => [row.id])
  }

  async pendingTasks(request: PageRequest): Promise<Page<Task>> {
    const rows = await this.store.tasks.listPending(this.store.db, {
      after: PENDING.after(request),
      limit: PENDING.limitOf(request) + 1,
    })

    return PENDING.page(rows, request, taskFromRow, (row) => [row.created_at, row.id])
  }

  async assignments(
    request: PageRequest & { taskId?: number; personId?: number },
  ): Promise<Page<Assignment>> {
    const rows = await this.store.assignments.list(this.store.db, {
      taskId: request.taskId,
      personId: request.personId,
      beforeId: ASSIGNMENTS.after(request)?.[0],
      limit: ASSIGNMENTS.limitOf(request) + 1,
    })

    return ASSIGNMENTS.page(rows, request, assignmentFromRow, (row) => [row.id])
  }

  async events(
    request: PageRequest & { taskId?: number; personId?: number },
  ): Promise<Page<AuditEvent>> {
    const rows = await this.store.events.list(this.store.db, {
      taskId: request.taskId,
      personId: request.personId,
      beforeId: EVENTS.after(request)?.[0],
      limit: EVENTS.limitOf(request) + 1,
    })

    return EVENTS.page(rows, request, eventFromRow, (row) => [row.id])
  }

  /** Oldest first after `afterId`; an inspector's own only when `personId` is given. */
  async eventsAfter(afterId: number, limit: number, personId?: number): Promise<AuditEvent[]> {
    const rows = await this.store.events.listAfter(this.store.db, afterId, limit, { personId })

    return rows.map(eventFromRow)
  }

  lastEventId(): Promise<number> {
    return this.store.events.lastId(this.store.db)
  }
}
