import type { PersonState } from '../store/persons.js'
import type { TaskStatus } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { NotFoundError } from './errors.js'
import {
  type Assignment,
  assignmentFromRow,
  type Page,
  type Person,
  personFromRow,
  type Task,
  taskFromRow,
} from './model.js'
import { decodeCursor, toPage } from './paging.js'

export interface PageRequest {
  limit: number
  cursor?: string
}

/** What supervisors and inspectors read: plain reads, no locks, paged by keyset. */
export class ReadModel {
  constructor(private readonly store: Store) {}

  async person(id: number): Promise<Person> {
    const row = await this.store.persons.find(this.store.db, id)
    if (!row) throw new NotFoundError('PERSON_NOT_FOUND', `No inspector has id ${id}.`)

    return personFromRow(row)
  }

  async persons(page: PageRequest & { state?: PersonState }): Promise<Page<Person>> {
    const afterId = page.cursor ? decodeCursor<[number]>(page.cursor, ['id'])[0] : undefined
    const rows = await this.store.persons.list(this.store.db, {
      state: page.state,
      afterId,
      limit: page.limit + 1,
    })

    return toPage(rows, page.limit, personFromRow, (row) => [row.id])
  }

  async availablePersons(page: PageRequest): Promise<Page<Person>> {
    const after = page.cursor
      ? decodeCursor<[string, number]>(page.cursor, ['time', 'id'])
      : undefined
    const rows = await this.store.persons.listAvailable(this.store.db, {
      after,
      limit: page.limit + 1,
    })

    return toPage(rows, page.limit, personFromRow, (row) => [row.available_since ?? '', row.id])
  }

  async task(id: number): Promise<Task> {
    const row = await this.store.tasks.find(this.store.db, id)
    if (!row) throw new NotFoundError('TASK_NOT_FOUND', `No task has id ${id}.`)

    return taskFromRow(row)
  }

  async tasks(page: PageRequest & { status?: TaskStatus }): Promise<Page<Task>> {
    const beforeId = page.cursor ? decodeCursor<[number]>(page.cursor, ['id'])[0] : undefined
    const rows = await this.store.tasks.list(this.store.db, {
      status: page.status,
      beforeId,
      limit: page.limit + 1,
    })

    return toPage(rows, page.limit, taskFromRow, (row) => [row.id])
  }

  async pendingTasks(page: PageRequest): Promise<Page<Task>> {
    const after = page.cursor
      ? decodeCursor<[string, number]>(page.cursor, ['time', 'id'])
      : undefined
    const rows = await this.store.tasks.listPending(this.store.db, {
      after,
      limit: page.limit + 1,
    })

    return toPage(rows, page.limit, taskFromRow, (row) => [row.created_at, row.id])
  }

  async assignments(
    page: PageRequest & { taskId?: number; personId?: number },
  ): Promise<Page<Assignment>> {
    const beforeId = page.cursor ? decodeCursor<[number]>(page.cursor, ['id'])[0] : undefined
    const rows = await this.store.assignments.list(this.store.db, {
      taskId: page.taskId,
      personId: page.personId,
      beforeId,
      limit: page.limit + 1,
    })

    return toPage(rows, page.limit, assignmentFromRow, (row) => [row.id])
  }
}
