// The assignment rules as the README states them, kept in memory, for the model-based test.
import assert from 'node:assert/strict'
import type { EndReason, StartReason, TaskStatus } from '../../src/domain/model.js'

export interface ModelPerson {
  id: number
  loggedIn: boolean
  task: ModelTask | null
  /** A tick of the model's clock while free and logged in, else null. */
  freeSince: number | null
  /** The last heartbeat an answer showed; each login or heartbeat must move it on. */
  heartbeat: string
}

export interface ModelTask {
  id: number
  status: TaskStatus
  /** Kept after DONE, as assigned_person_id is. */
  person: ModelPerson | null
  createdAt: number
}

export interface ModelAssignment {
  task: ModelTask
  person: ModelPerson
  start: StartReason
  end: EndReason | null
}

/**
 * The rules as the README states them, without a database. Its clock ticks once per state
 * change, in the order the service's requests read theirs, so its order is the service's.
 */
export class RulesModel {
  readonly persons: ModelPerson[] = []
  readonly tasks: ModelTask[] = []
  readonly history: ModelAssignment[] = []
  /** What the commands did, with real ids, to explain a failure. */
  readonly trace: string[] = []
  private ticks = 0

  addPerson(id: number): ModelPerson {
    const person: ModelPerson = { id, loggedIn: false, task: null, freeSince: null, heartbeat: '' }
    this.persons.push(person)

    return person
  }

  addTask(id: number): ModelTask {
    const task: ModelTask = { id, status: 'PENDING', person: null, createdAt: this.ticks++ }
    this.tasks.push(task)

    return task
  }

  freeLine(): ModelPerson[] {
    return this.persons
      .filter((p) => p.loggedIn && p.task === null)
      .sort((a, b) => (a.freeSince ?? 0) - (b.freeSince ?? 0))
  }

  queue(): ModelTask[] {
    return this.tasks
      .filter((t) => t.status === 'PENDING')
      .sort((a, b) => a.createdAt - b.createdAt)
  }

  /** The oldest pending task to whoever is free the longest, until one side runs out. */
  assignWaiting(reason: StartReason): ModelAssignment[] {
    const made: ModelAssignment[] = []
    for (;;) {
      const [person] = this.freeLine()
      const [task] = this.queue()
      if (!person || !task) return made

      task.status = 'IN_PROGRESS'
      task.person = person
      person.task = task
      person.freeSince = null
      const assignment = { task, person, start: reason, end: null }
      this.history.push(assignment)
      made.push(assignment)
    }
  }

  /** A second login changes nothing the model keeps (only the heartbeat). */
  login(person: ModelPerson): void {
    if (person.loggedIn) return

    person.loggedIn = true
    person.freeSince = this.ticks++
    this.assignWaiting('LOGIN')
  }

  /** Returns the released task, which may already be with someone else. */
  logout(person: ModelPerson, reason: EndReason): ModelTask | null {
    if (!person.loggedIn) return null

    const task = person.task
    person.loggedIn = false
    person.task = null
    person.freeSince = null
    if (task) {
      // Back in the queue under its original createdAt, so at its original place.
      this.endAssignment(task, reason)
      task.status = 'PENDING'
      task.person = null
      this.assignWaiting('RELEASE')
    }

    return task
  }

  /** Returns the next task the same person got, or null. */
  complete(task: ModelTask): ModelTask | null {
    const person = task.person
    assert.ok(person, 'the model completes only tasks in progress')
    this.endAssignment(task, 'COMPLETED')
    task.status = 'DONE'
    person.task = null
    person.freeSince = this.ticks++
    const made = this.assignWaiting('COMPLETION')

    return made.find((a) => a.person === person)?.task ?? null
  }

  /** Logs out, in the given order, those still logged in; returns how many. */
  expire(persons: ModelPerson[]): number {
    const silent = persons.filter((p) => p.loggedIn)
    for (const person of silent) this.logout(person, 'HEARTBEAT_EXPIRED')

    return silent.length
  }

  private endAssignment(task: ModelTask, reason: EndReason): void {
    const open = this.history.find((a) => a.task === task && a.end === null)
    assert.ok(open, `the model has an open assignment for task ${task.id}`)
    open.end = reason
  }
}
