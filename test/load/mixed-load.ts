import { ADMIN_AUTH, type Reply, type TestService } from '../support/stores.js'

/**
 * A bounded, randomised mix of what inspectors and supervisors do, spread over several
 * service instances that share one database. Every request and its answer is recorded, so
 * the caller can check both the answers and the database afterwards.
 *
 * The load comes in bursts: every worker sends one operation at once, then all wait for the
 * last answer. Between bursts nothing is in flight, so `onQuiet` sees what the requests
 * left behind, before any sweep could tidy it. Bursts alternate between piling up tasks and
 * draining them, so both a backlog and idle inspectors occur at those quiet moments.
 */
export interface LoadOptions {
  persons: number
  seedTasks: number
  workers: number
  bursts: number
  /** No burst starts after this long, whatever `bursts` says. */
  deadlineMs: number
  seed: number
  onQuiet?: (burst: number) => Promise<void>
}

export type OpKind =
  | 'add-person'
  | 'create'
  | 'login'
  | 'logout'
  | 'complete-held'
  | 'complete-any'
  | 'complete-twice'
  | 'login-twice'

/** One request and its answer; `expected` lists the statuses that kind of request may get. */
export interface Exchange {
  op: OpKind
  instance: number
  url: string
  status: number
  expected: readonly number[]
  code?: string
}

export interface LoadResult {
  exchanges: Exchange[]
  /** Tasks a client was told were created (201), with the description it sent. */
  created: { id: number; description: string }[]
  /** The two answers of each completion sent to both instances at once. */
  completedTwice: { taskId: number; statuses: [number, number] }[]
  /** The two answers of each login sent to both instances at once. */
  loggedInTwice: { personId: number; statuses: [number, number] }[]
  personIds: number[]
  /** Operations started before the deadline; workers × bursts when none was cut. */
  operations: number
  elapsedMs: number
}

/** The few fields of the answers the load reads; the rest is checked elsewhere. */
interface Answer {
  id?: number
  code?: string
  current_task_id?: number | null
  items?: { id: number; current_task_id?: number | null }[]
}

type LoadOp = Exclude<OpKind, 'add-person'>
type Mix = [LoadOp, number][]

const PILE_UP: Mix = [
  ['create', 40],
  ['login', 15],
  ['logout', 10],
  ['complete-held', 15],
  ['complete-any', 5],
  ['complete-twice', 10],
  ['login-twice', 5],
]

const DRAIN: Mix = [
  ['create', 3],
  ['login', 15],
  ['logout', 5],
  ['complete-held', 50],
  ['complete-any', 5],
  ['complete-twice', 17],
  ['login-twice', 5],
]

export async function runMixedLoad(
  instances: TestService[],
  options: LoadOptions,
): Promise<LoadResult> {
  const random = mulberry32(options.seed)
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)]
    if (item === undefined) throw new Error('pick from an empty list')

    return item
  }
  const result: LoadResult = {
    exchanges: [],
    created: [],
    completedTwice: [],
    loggedInTwice: [],
    personIds: [],
    operations: 0,
    elapsedMs: 0,
  }

  const send = async (
    op: OpKind,
    instance: number,
    url: string,
    body: unknown,
    expected: readonly number[],
  ): Promise<Reply<Answer | undefined>> => {
    const service = instances[instance]
    if (!service) throw new Error(`no instance ${instance}`)
    // As an admin, named rather than left to TestService's default: the load completes
    // inspectors' tasks for them, which of the key roles only an admin may.
    const reply =
      body === undefined
        ? await service.get<Answer>(url, ADMIN_AUTH)
        : await service.post<Answer>(url, body, ADMIN_AUTH)
    result.exchanges.push({
      op,
      instance,
      url,
      status: reply.status,
      expected,
      code: reply.body?.code,
    })

    return reply
  }
  const anyInstance = () => Math.floor(random() * instances.length)

  for (let i = 0; i < options.persons; i++) {
    const name = `Inspector ${i}`
    const reply = await send('add-person', anyInstance(), '/persons', { name }, [201])
    if (typeof reply.body?.id !== 'number') throw new Error(`no inspector: ${reply.status}`)
    result.personIds.push(reply.body.id)
  }
  for (let i = 0; i < options.seedTasks; i++) {
    await createTask(`seed #${i}`, 'create')
  }

  async function createTask(description: string, op: OpKind): Promise<void> {
    const reply = await send(op, anyInstance(), '/tasks', { description }, [201])
    const id = reply.body?.id
    if (reply.status === 201 && typeof id === 'number') result.created.push({ id, description })
  }

  type Operation = (worker: number, step: number) => Promise<void>
  const operations: Record<LoadOp, Operation> = {
    create: (worker, step) => createTask(`load w${worker} #${step}`, 'create'),

    login: async () => {
      await send('login', anyInstance(), '/login', { person_id: pick(result.personIds) }, [200])
    },

    logout: async () => {
      await send('logout', anyInstance(), '/logout', { person_id: pick(result.personIds) }, [200])
    },

    'complete-held': async () => {
      // As a supervisor's screen might: pick someone busy, then finish the task they hold.
      const busy = await send(
        'complete-held',
        anyInstance(),
        '/persons?state=busy&limit=100',
        undefined,
        [200],
      )
      const people = busy.body?.items ?? []
      if (people.length === 0) return
      const taskId = pick(people).current_task_id
      if (typeof taskId !== 'number') return
      // Another client may finish it or its inspector may log out between the two requests.
      await send('complete-held', anyInstance(), `/tasks/${taskId}/complete`, {}, [200, 409])
    },

    'complete-any': async () => {
      if (result.created.length === 0) return
      const { id } = pick(result.created)
      await send('complete-any', anyInstance(), `/tasks/${id}/complete`, {}, [200, 409])
    },

    'complete-twice': async () => {
      const page = await send(
        'complete-twice',
        anyInstance(),
        '/tasks?status=IN_PROGRESS&limit=50',
        undefined,
        [200],
      )
      const items: { id: number }[] = page.body?.items ?? []
      if (items.length === 0) return
      const { id } = pick(items)
      const url = `/tasks/${id}/complete`
      const [first, second] = await Promise.all([
        send('complete-twice', 0, url, {}, [200, 409]),
        send('complete-twice', 1 % instances.length, url, {}, [200, 409]),
      ])
      result.completedTwice.push({ taskId: id, statuses: [first.status, second.status] })
    },

    'login-twice': async () => {
      const personId = pick(result.personIds)
      const body = { person_id: personId }
      const answers = await Promise.all([
        send('login-twice', 0, '/login', body, [200]),
        send('login-twice', 1 % instances.length, '/login', body, [200]),
      ])
      result.loggedInTwice.push({
        personId,
        statuses: [answers[0].status, answers[1].status],
      })
    },
  }

  const kindsOf = (mix: Mix) => mix.flatMap(([kind, weight]) => Array<LoadOp>(weight).fill(kind))
  const mixes = [kindsOf(PILE_UP), kindsOf(DRAIN), kindsOf(DRAIN)]
  const started = performance.now()
  for (let burst = 0; burst < options.bursts; burst++) {
    if (performance.now() - started > options.deadlineMs) break
    const kinds = mixes[burst % mixes.length] ?? []
    const workers = Array.from({ length: options.workers }, (_, worker) => {
      result.operations++

      return operations[pick(kinds)](worker, burst)
    })
    await Promise.all(workers)
    await options.onQuiet?.(burst)
  }
  result.elapsedMs = Math.round(performance.now() - started)

  return result
}

/**
 * A small seeded generator: a run's seed reproduces its mix of operations, though not the
 * exact interleaving, which the database and the event loop decide.
 */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0

  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)

    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
