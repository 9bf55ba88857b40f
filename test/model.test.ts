// Model-based property test: random sequences of requests run against the real service (on
// SQLite and on MariaDB) and against a small in-memory model of the README's assignment rules;
// every answer, then the whole final state, must agree.
//
//   QC_MODEL_RUNS=<n>    runs per store (default 40, each of up to 40 commands); raise it to
//                        search harder: QC_MODEL_RUNS=2000 node --import tsx --test <this file>
//   QC_MODEL_SEED=<n>    rerun the seed a failure printed: same runs, shrunk again
//   QC_MODEL_PATH=<p>    with the seed, the failure's `path`, and
//   QC_MODEL_REPLAY=<r>  its replayPath="..." comment: rerun only the shrunk counterexample
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { toDbTime } from '../src/store/time.js'
import { type ModelPerson, type ModelTask, RulesModel } from './model/rules-model.js'
import { MARIADB_SKIP, type StoreName, TestDatabase, TestService } from './support/stores.js'

const RUNS = Number(process.env.QC_MODEL_RUNS ?? 40)
const MAX_COMMANDS = 40
/** No row has this id: ids are at most 2^31 - 1 and these tables never grow that far. */
const UNKNOWN_ID = 2_147_483_647
/** Longer than any run lasts on the stepping clock, so only heartbeats set in 2000 expire. */
const HEARTBEAT_TIMEOUT_S = 3600

const stateOf = (p: ModelPerson) => (!p.loggedIn ? 'offline' : p.task ? 'busy' : 'free')
const expectedPerson = (p: ModelPerson) => ({
  id: p.id,
  state: stateOf(p),
  current_task_id: p.task?.id ?? null,
})
const expectedTask = (t: ModelTask) => ({
  id: t.id,
  status: t.status,
  assigned_person_id: t.person?.id ?? null,
})
const personFields = (p: any) => ({ id: p.id, state: p.state, current_task_id: p.current_task_id })
const taskFields = (t: any) =>
  t === null ? null : { id: t.id, status: t.status, assigned_person_id: t.assigned_person_id }

function expectNewHeartbeat(person: ModelPerson, answer: { last_heartbeat: string | null }) {
  const now = answer.last_heartbeat ?? ''
  assert.ok(now > person.heartbeat, `heartbeat ${now} is after ${person.heartbeat || 'none'}`)
  person.heartbeat = now
}

function expectProblem(reply: { status: number; body: any }, status: number, code: string) {
  assert.deepEqual({ status: reply.status, code: reply.body?.code }, { status, code })
}

/**
 * How a command names its person or task before anyone knows how many there will be: the
 * pick-th (modulo) of all of them, of those the command fits (an offline person for a login,
 * an IN_PROGRESS task for a completion), or an id nobody has.
 */
interface Ref {
  among: 'any' | 'fitting' | 'unknown'
  pick: number
}

const refArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ among: fc.constant('any' as const), pick: fc.nat(9) }) },
  { weight: 6, arbitrary: fc.record({ among: fc.constant('fitting' as const), pick: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.constant({ among: 'unknown' as const, pick: 0 }) },
)

/** Any item when none fits; null when there is none, and check() then skips the command. */
function resolve<T>(ref: Ref, all: T[], fits: (item: T) => boolean): T | 'unknown' | null {
  if (ref.among === 'unknown') return 'unknown'
  const fitting = all.filter(fits)
  const candidates = ref.among === 'any' || fitting.length === 0 ? all : fitting

  return candidates[ref.pick % candidates.length] ?? null
}

const refText = (ref: Ref) => (ref.among === 'unknown' ? 'unknown' : `${ref.among}[${ref.pick}]`)

interface Real {
  service: TestService
  clock: () => Date
}

/** Adds what the run did so far, with real ids, to a failure's message. */
async function explained<T>(model: RulesModel, what: string, work: () => Promise<T>) {
  try {
    return await work()
  } catch (error) {
    const steps = model.trace.map((line) => `\n  ${line}`).join('')
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(`${what} failed: ${message}\nafter these steps (real ids):${steps}`, {
      cause: error,
    })
  }
}

/** One command of a run, compared on both sides. */
abstract class Step implements fc.AsyncCommand<RulesModel, Real> {
  check(_model: Readonly<RulesModel>): boolean {
    return true
  }

  async run(model: RulesModel, real: Real): Promise<void> {
    model.trace.push(await explained(model, String(this), () => this.act(model, real)))
  }

  /** Runs the command on both sides, compares, and says what happened. */
  abstract act(model: RulesModel, real: Real): Promise<string>
  abstract toString(): string
}

class AddPerson extends Step {
  async act(model: RulesModel, { service }: Real) {
    const reply = await service.post('/persons', { name: `Inspector ${model.persons.length}` })

    assert.equal(reply.status, 201)
    assert.ok(!model.persons.some((p) => p.id === reply.body.id), 'a new person has a new id')
    const person = model.addPerson(reply.body.id)
    assert.deepEqual(personFields(reply.body), expectedPerson(person))

    return `person ${person.id} created`
  }

  toString() {
    return 'addPerson'
  }
}

class AddTask extends Step {
  async act(model: RulesModel, { service }: Real) {
    const reply = await service.post('/tasks', { description: `Batch ${model.tasks.length}` })

    assert.equal(reply.status, 201)
    assert.ok(!model.tasks.some((t) => t.id === reply.body.id), 'a new task has a new id')
    const task = model.addTask(reply.body.id)
    model.assignWaiting('TASK_CREATED')
    assert.deepEqual(taskFields(reply.body), expectedTask(task))

    return `task ${task.id} created: to ${task.person?.id ?? null}`
  }

  toString() {
    return 'addTask'
  }
}

abstract class PersonStep extends Step {
  constructor(readonly ref: Ref) {
    super()
  }

  /** Whom the command is most often about. */
  abstract fits(person: ModelPerson): boolean

  override check(model: Readonly<RulesModel>) {
    return resolve(this.ref, model.persons, (p) => this.fits(p)) !== null
  }

  /** The target, or UNKNOWN_ID when the command is about a person who does not exist. */
  target(model: RulesModel): { id: number; person: ModelPerson | null } {
    const person = resolve(this.ref, model.persons, (p) => this.fits(p))
    assert.ok(person !== null, 'check() made sure the target exists')

    return person === 'unknown' ? { id: UNKNOWN_ID, person: null } : { id: person.id, person }
  }
}

class Login extends PersonStep {
  fits(person: ModelPerson) {
    return !person.loggedIn
  }

  async act(model: RulesModel, { service }: Real) {
    const { id, person } = this.target(model)
    const reply = await service.post('/login', { person_id: id })

    if (!person) return expectUnknownPerson(reply, 'login')
    model.login(person)
    assert.equal(reply.status, 200)
    assert.deepEqual(personFields(reply.body.person), expectedPerson(person))
    assert.deepEqual(taskFields(reply.body.task), person.task && expectedTask(person.task))
    expectNewHeartbeat(person, reply.body.person)

    return `login ${id}: holds ${person.task?.id ?? null}`
  }

  toString() {
    return `login(${refText(this.ref)})`
  }
}

class Logout extends PersonStep {
  fits(person: ModelPerson) {
    return person.loggedIn
  }

  async act(model: RulesModel, { service }: Real) {
    const { id, person } = this.target(model)
    const reply = await service.post('/logout', { person_id: id })

    if (!person) return expectUnknownPerson(reply, 'logout')
    const released = model.logout(person, 'LOGOUT')
    assert.equal(reply.status, 200)
    assert.deepEqual(personFields(reply.body.person), expectedPerson(person))
    assert.deepEqual(taskFields(reply.body.released_task), released && expectedTask(released))

    return `logout ${id}: released ${released?.id ?? null} to ${released?.person?.id ?? null}`
  }

  toString() {
    return `logout(${refText(this.ref)})`
  }
}

class Heartbeat extends PersonStep {
  fits(person: ModelPerson) {
    return person.loggedIn
  }

  async act(model: RulesModel, { service }: Real) {
    const { id, person } = this.target(model)
    const reply = await service.post('/heartbeat', { person_id: id })

    if (!person) return expectUnknownPerson(reply, 'heartbeat')
    if (!person.loggedIn) {
      expectProblem(reply, 409, 'PERSON_NOT_LOGGED_IN')

      return `heartbeat ${id}: 409`
    }
    assert.equal(reply.status, 200)
    assert.deepEqual(personFields(reply.body), expectedPerson(person))
    expectNewHeartbeat(person, reply.body)

    return `heartbeat ${id}: 200`
  }

  toString() {
    return `heartbeat(${refText(this.ref)})`
  }
}

function expectUnknownPerson(reply: { status: number; body: any }, what: string): string {
  expectProblem(reply, 404, 'PERSON_NOT_FOUND')

  return `${what} unknown person: 404`
}

const inProgress = (task: ModelTask) => task.status === 'IN_PROGRESS'

class Complete extends Step {
  constructor(readonly ref: Ref) {
    super()
  }

  override check(model: Readonly<RulesModel>) {
    return resolve(this.ref, model.tasks, inProgress) !== null
  }

  async act(model: RulesModel, { service }: Real) {
    const task = resolve(this.ref, model.tasks, inProgress)
    assert.ok(task !== null, 'check() made sure the target exists')
    const id = task === 'unknown' ? UNKNOWN_ID : task.id
    const reply = await service.post(`/tasks/${id}/complete`)

    if (task === 'unknown') {
      expectProblem(reply, 404, 'TASK_NOT_FOUND')

      return 'complete unknown task: 404'
    }
    if (task.status !== 'IN_PROGRESS') {
      const code = task.status === 'DONE' ? 'TASK_ALREADY_DONE' : 'TASK_NOT_IN_PROGRESS'
      expectProblem(reply, 409, code)

      return `complete ${id} (${task.status}): 409`
    }
    const next = model.complete(task)
    assert.equal(reply.status, 200)
    assert.deepEqual(taskFields(reply.body.completed), expectedTask(task))
    assert.deepEqual(taskFields(reply.body.next_task), next && expectedTask(next))

    return `complete ${id} by ${task.person?.id}: next ${next?.id ?? null}`
  }

  toString() {
    return `complete(${refText(this.ref)})`
  }
}

/**
 * Silences some logged-in inspectors (their heartbeats go back to 2000, in this order; the
 * others' are recent), then expires silent ones as the sweep would.
 */
class Expire extends Step {
  constructor(readonly picks: number[]) {
    super()
  }

  override check(model: Readonly<RulesModel>) {
    return model.persons.some((p) => p.loggedIn)
  }

  async act(model: RulesModel, { service }: Real) {
    const online = model.persons.filter((p) => p.loggedIn)
    // check() saw someone logged in, so every pick lands on a person.
    const silenced = [...new Set(this.picks.map((pick) => online[pick % online.length]))].filter(
      (p) => p !== undefined,
    )
    for (const [order, person] of silenced.entries()) {
      await service.store.db
        .updateTable('qc_person')
        .set({ last_heartbeat: toDbTime(new Date(Date.UTC(2000, 0, 1, 0, 0, 0, order))) })
        .where('id', '=', person.id)
        .execute()
    }

    const expired = await service.app.service.expireSilent(HEARTBEAT_TIMEOUT_S)

    assert.equal(expired, model.expire(silenced))

    return `expire ${silenced.map((p) => p.id).join(',')}: ${expired} logged out`
  }

  toString() {
    return `expire(${this.picks.join(',')})`
  }
}

/** When every request kept the rules, the sweep finds nothing to do. */
class Sweep extends Step {
  async act(model: RulesModel, { service }: Real) {
    // Other counts the sweep reports (forgotten idempotency keys) are not the model's business.
    const { expired, assigned } = await service.app.sweeper.sweepOnce()

    assert.deepEqual(
      { expired, assigned },
      { expired: 0, assigned: model.assignWaiting('SWEEP').length },
    )

    return `sweep: ${assigned} assigned`
  }

  toString() {
    return 'sweep'
  }
}

/** A task a crashed instance inserted but never assigned; the next sweep assigns it. */
class StrandedTask extends Step {
  async act(model: RulesModel, { service, clock }: Real) {
    const inserted = await service.store.db
      .insertInto('qc_task')
      .values({ description: 'left behind', status: 'PENDING', created_at: toDbTime(clock()) })
      .executeTakeFirstOrThrow()
    const task = model.addTask(Number(inserted.insertId))

    const { expired, assigned } = await service.app.sweeper.sweepOnce()

    assert.deepEqual(
      { expired, assigned },
      { expired: 0, assigned: model.assignWaiting('SWEEP').length },
    )

    return `stranded task ${task.id}: swept to ${task.person?.id ?? null}`
  }

  toString() {
    return 'strandedTask'
  }
}

class Inspect extends Step {
  async act(model: RulesModel, { service }: Real) {
    await expectSameState(model, service)

    return 'state matches'
  }

  toString() {
    return 'inspect'
  }
}

/** Everyone's state and task, the free line, the queue, every task and the whole history. */
async function expectSameState(model: RulesModel, service: TestService): Promise<void> {
  const items = async (url: string) => {
    const reply = await service.get(url)
    assert.equal(reply.status, 200, url)
    assert.equal(reply.body.next_cursor, null, `${url} fits on one page`)

    return reply.body.items as any[]
  }
  const byId = <T extends { id: number }>(list: T[]) => [...list].sort((a, b) => a.id - b.id)

  // Each list is compared under a name, so that a failure's diff says which one differs.
  const persons = await items('/persons?limit=500')
  assert.deepEqual(
    { persons: persons.map(personFields) },
    { persons: byId(model.persons).map(expectedPerson) },
  )
  const available = await items('/persons/available?limit=500')
  assert.deepEqual(
    { freeLineLongestFreeFirst: available.map((p) => p.id) },
    { freeLineLongestFreeFirst: model.freeLine().map((p) => p.id) },
  )
  const pending = await items('/tasks/pending?limit=500')
  assert.deepEqual(
    { queueOldestFirst: pending.map((t) => t.id) },
    { queueOldestFirst: model.queue().map((t) => t.id) },
  )
  const tasks = (await items('/tasks?limit=500')).reverse()
  assert.deepEqual({ tasks: tasks.map(taskFields) }, { tasks: byId(model.tasks).map(expectedTask) })
  const history = (await items('/assignments?limit=500')).reverse()
  const ended = (a: any) => (a.completed_at === null ? 'open' : 'ended')
  assert.deepEqual(
    {
      history: history.map((a) => [a.task_id, a.person_id, a.start_reason, a.end_reason, ended(a)]),
    },
    {
      history: model.history.map((a) => [
        a.task.id,
        a.person.id,
        a.start,
        a.end,
        a.end === null ? 'open' : 'ended',
      ]),
    },
  )
}

/**
 * Runs differ in how fast work arrives: when it is slow, inspectors wait in the free line
 * (fairness, releases to someone free); when it is fast, a backlog builds (queue order).
 */
const commandArb = (taskWeight: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(new AddPerson()) },
    { weight: taskWeight, arbitrary: fc.constant(new AddTask()) },
    { weight: 5, arbitrary: refArb.map((ref) => new Login(ref)) },
    { weight: 2, arbitrary: refArb.map((ref) => new Logout(ref)) },
    { weight: 1, arbitrary: refArb.map((ref) => new Heartbeat(ref)) },
    { weight: 6, arbitrary: refArb.map((ref) => new Complete(ref)) },
    {
      weight: 1,
      arbitrary: fc.array(fc.nat(9), { minLength: 1, maxLength: 3 }).map((p) => new Expire(p)),
    },
    { weight: 1, arbitrary: fc.constant(new Sweep()) },
    { weight: 1, arbitrary: fc.constant(new StrandedTask()) },
    { weight: 1, arbitrary: fc.constant(new Inspect()) },
  )

/** Every reading is 1 ms after the last, so no two state changes share a timestamp. */
function steppingClock(): () => Date {
  let now = Date.UTC(2030, 0, 1)

  return () => new Date(++now)
}

function replayOptions(): fc.Parameters<unknown> {
  const seed = process.env.QC_MODEL_SEED
  const path = process.env.QC_MODEL_PATH

  return {
    numRuns: RUNS,
    includeErrorInReport: true,
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
  }
}

for (const kind of ['sqlite', 'mariadb'] as StoreName[]) {
  describe(`the model of the rules (${kind})`, { skip: kind === 'mariadb' && MARIADB_SKIP }, () => {
    const clock = steppingClock()
    let database: TestDatabase | undefined
    let service: TestService | undefined

    before(async () => {
      database = await TestDatabase.create(kind)
      service = await TestService.start(database.url, {}, clock)
    })
    after(async () => {
      await service?.stop()
      await database?.drop()
    })

    test('every answer and the final state are those the model of the rules predicts', async () => {
      const commands = fc.integer({ min: 1, max: 4 }).chain((taskWeight) =>
        fc.commands([commandArb(taskWeight)], {
          maxCommands: MAX_COMMANDS,
          size: 'max',
          replayPath: process.env.QC_MODEL_REPLAY,
        }),
      )
      const property = fc.asyncProperty(commands, async (steps) => {
        const real = { service: service as TestService, clock }
        await real.service.reset()
        const model = new RulesModel()

        await fc.asyncModelRun(() => ({ model, real }), steps)

        await explained(model, 'the final state', () => expectSameState(model, real.service))
      })

      await fc.assert(property, replayOptions())
    })
  })
}
